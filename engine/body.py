"""Reading a /generate body without holding it: the license is found while the body
streams to a temporary file, so a caller with a wrong license never gets the body parsed
(or even kept in memory).

NavTalk's contract puts the license inside the JSON body, so it cannot be checked before
the body arrives; what we can do is not *hold* it. `read_body` copies at most `limit`
bytes in 64 KiB chunks into a SpooledTemporaryFile (memory up to 1 MiB, disk beyond)
while `LicenseScanner` picks out the top-level "license" string, byte by byte state, but
with regular expressions doing the scanning (a long base64 string costs one search per
chunk). A 130 MiB body with a wrong license costs a few MiB of memory, not 3 × 130.
"""

import json
import re
import tempfile
from dataclasses import dataclass

CHUNK = 64 * 1024
SPOOL_BYTES = 1024 * 1024
MAX_CAPTURE = 4096  # a top-level key or license value longer than this is not one we want
_IN_STRING = re.compile(rb'["\\]')
_STRUCTURE = re.compile(rb'["{}\[\]:,]')


class LicenseScanner:
    """Feed it a JSON text in chunks; `license` is the top-level "license" value if it is
    a string (the last one, as json.loads would keep), else None."""

    def __init__(self):
        self.depth = 0
        self.top_is_object = False
        self.in_string = False
        self.escape = False
        self.expect_key = False
        self.key = None
        self.value_is_license = False
        self.capture: bytearray | None = None
        self.license: str | None = None

    def _finish_string(self) -> None:
        text = None
        if self.capture is not None:
            try:
                text = json.loads(b'"' + bytes(self.capture) + b'"')
            except ValueError:
                text = None
        if self.depth == 1 and self.top_is_object:
            if self.expect_key:
                self.key = text
            elif self.value_is_license:
                self.license = text if isinstance(text, str) else None
                self.value_is_license = False
        self.capture = None

    def feed(self, chunk: bytes) -> None:
        pos, n = 0, len(chunk)
        while pos < n:
            if self.in_string:
                if self.escape:
                    if self.capture is not None:
                        self.capture += chunk[pos:pos + 1]
                    self.escape, pos = False, pos + 1
                    continue
                m = _IN_STRING.search(chunk, pos)
                end = m.start() if m else n
                if self.capture is not None:
                    self.capture += chunk[pos:end]
                    if len(self.capture) > MAX_CAPTURE:
                        self.capture = None
                if not m:
                    return
                pos = m.end()
                if m[0] == b"\\":
                    self.escape = True
                    if self.capture is not None:
                        self.capture += b"\\"
                else:
                    self.in_string = False
                    self._finish_string()
                continue
            m = _STRUCTURE.search(chunk, pos)
            if not m:
                return
            pos, c = m.end(), m[0]
            if c == b'"':
                self.in_string = True
                wanted = self.depth == 1 and self.top_is_object and (self.expect_key or self.value_is_license)
                self.capture = bytearray() if wanted else None
            elif c in b"{[":
                self.depth += 1
                if self.depth == 1:
                    self.top_is_object, self.expect_key = c == b"{", c == b"{"
                elif self.depth == 2 and self.value_is_license:
                    self.value_is_license = False
                    self.license = None  # "license": {…} or […]: not a license
            elif c in b"}]":
                self.depth -= 1
            elif self.depth == 1 and self.top_is_object:
                if c == b":":
                    self.expect_key = False
                    self.value_is_license = self.key == "license"
                    if self.value_is_license:
                        self.license = None  # a later non-string value replaces an earlier one
                else:  # ","
                    self.expect_key, self.value_is_license, self.key = True, False, None


@dataclass
class Body:
    file: tempfile.SpooledTemporaryFile
    size: int
    license: str | None
    too_large: bool

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        self.file.close()


def read_body(stream, limit: int) -> Body:
    """Copy at most limit + 1 bytes of `stream`, finding the license on the way."""
    scanner = LicenseScanner()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    while size <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        spool.write(chunk)
        scanner.feed(chunk)
    return Body(file=spool, size=size, license=scanner.license, too_large=size > limit)
