"""Masking a license in whatever an upstream sends back, in any case or common encoding.

An upstream may echo the license it was sent: verbatim, upper- or lower-cased, JSON- or
URL-escaped (whole or in part), hex-encoded, or base64-encoded (standard or URL-safe, at
any byte offset inside a longer encoded text). `Scrubber(license).text(s)` replaces every
such form with a short hint; `.value(obj)` does it through a parsed JSON value. Nothing
kept of an upstream reply may skip it.
"""

import base64
import re

_B64_ALPHABETS = (base64.b64encode, base64.urlsafe_b64encode)


def _char_pattern(ch: str) -> str:
    """One license character, raw or escaped (`%73`, `\\u0073`, `\\x73`), any case."""
    forms = [re.escape(ch)]
    if ord(ch) < 256:
        forms += [f"%{ord(ch):02x}", rf"\\u00{ord(ch):02x}", rf"\\x{ord(ch):02x}"]
    if ch == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _base64_fragments(data: bytes) -> set[str]:
    """The base64 characters fully determined by `data`, at each of the three byte
    offsets it may have inside a longer encoded text."""
    fragments = set()
    for offset in range(3):
        for encode in _B64_ALPHABETS:
            encoded = encode(b"\0" * offset + data).decode().rstrip("=")
            first = -(-8 * offset // 6)
            last = 8 * (offset + len(data)) // 6
            fragment = encoded[first:last]
            if len(fragment) >= 6:
                fragments.add(fragment)
    return fragments


class Scrubber:
    def __init__(self, license: str | None, hint: str | None = None):
        self.license = license or ""
        self.hint = hint if hint is not None else f"…{self.license[-4:]}" if self.license else ""
        if len(self.license) < 4:
            self._patterns = ()
            return
        variants = {self.license, self.license.upper(), self.license.lower()}
        text_form = "".join(_char_pattern(ch) for ch in self.license)
        hex_forms = {v.encode("utf-8", "surrogatepass").hex() for v in variants}
        b64 = set()
        for v in variants:
            b64 |= _base64_fragments(v.encode("utf-8", "surrogatepass"))
        insensitive = "|".join([text_form, *map(re.escape, sorted(hex_forms, key=len, reverse=True))])
        self._patterns = (
            re.compile(insensitive, re.IGNORECASE),
            re.compile("|".join(map(re.escape, sorted(b64, key=len, reverse=True)))) if b64 else None,
        )

    def text(self, text: str) -> str:
        for pattern in self._patterns:
            if pattern is not None:
                text = pattern.sub(self.hint, text)
        return text

    def value(self, value, depth: int = 0):
        """`value` (parsed JSON) with every string, key included, scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if depth > 64:
            return None
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, depth + 1) for v in value]
        return value
