"""Serving a file with single-range support (HTTP Range / If-Range), as browsers' <video>
and <audio> elements expect to seek. Used by the engine's /engine/media/ and by the
portal's archived results and voice samples.

One range per request: several ranges, or a form we do not support, get the whole file
(RFC 9110 lets a server ignore Range); a range outside the file is a 416.
"""

import os
import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int):
    """The (start, end) inclusive byte range a `Range` header asks for, None to send the
    whole file (no header, several ranges or a form we do not support: RFC 9110 lets us
    ignore it), or "unsatisfiable" (416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last) if last else size - 1, size - 1)


def _file_part(path, start: int, length: int, chunk: int = 64 * 1024):
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                break
            length -= len(data)
            yield data


def ranged_file_response(request, path, *, content_type: str, cache_control: str,
                         unsatisfiable=None, filename: str | None = None, attachment: bool = False):
    """A 200 (whole file) or 206 (one range) response for the file at `path`, with ETag,
    Last-Modified and Accept-Ranges. Raises FileNotFoundError when the file is missing.
    `unsatisfiable(size)` builds the 416 response (default: a plain-text sentence)."""
    stat = os.stat(path)
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    wanted = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        wanted = None  # the client's copy is a different version: send it all
    if wanted == "unsatisfiable":
        if unsatisfiable is not None:
            return unsatisfiable(size)
        response = HttpResponse(f"The requested range is outside the file ({size} bytes). Ask for bytes 0-{size - 1}.",
                                status=416, content_type="text/plain; charset=utf-8")
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_file_part(path, start, end - start + 1), status=206,
                                         content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if filename:
        kind = "attachment" if attachment else "inline"
        response["Content-Disposition"] = f'{kind}; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["Cache-Control"] = cache_control
    return response
