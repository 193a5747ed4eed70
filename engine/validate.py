"""Validation of a `/generate` body against the NavTalk contract (`navtalk.contract`,
where every field, range and voice is defined): pure functions, no ORM, no renderer.

`validate_generate(body)` takes the decoded JSON body (without caring about the
license, which the view checks first) and returns `(cleaned, errors)`: `errors` maps a
field name to a message a person can act on; `cleaned` holds the accepted fields with
`audio_base64` replaced by the decoded bytes (`audio_bytes`) and their kind.

This module must stay importable by the web process without numpy/mediapipe, so the
character list is read from the plain catalog, not from the renderer.
"""

import base64
import binascii
import json
import re
from urllib.parse import urlsplit

from navtalk.contract import AUDIO_FIELDS, NUMBER_PARAMS, PARSING_MODES, VISUAL_FIELDS, VOICES
from navtalk.contract import GENERATE_FIELDS as KNOWN_FIELDS

URL_MAX_CHARS = 4096
JSON_MAX_DEPTH = 32  # a /generate body is flat; anything deeper is refused before parsing
# Strings are skipped whole (possessive quantifiers: no backtracking state kept, so a long
# base64 string costs no memory), brackets outside them are the tokens.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


class BadBody(ValueError):
    """The body is not a JSON document the engine will parse (message for a person)."""


def json_depth_exceeds(raw: bytes, limit: int = JSON_MAX_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than `limit` (no recursion: a
    100,000-deep `[[[…]]]` is counted, not parsed)."""
    depth = 0
    for token in _JSON_TOKENS.finditer(raw):
        char = raw[token.start()]  # never token.group(): that would copy a long string
        if char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif char in _CLOSE:
            depth -= 1
    return False


def parse_json_body(raw: bytes):
    """The decoded JSON of a request body. Raises BadBody for a body that is not JSON,
    nests deeper than JSON_MAX_DEPTH, or holds text that is not valid Unicode."""
    if json_depth_exceeds(raw):
        raise BadBody(f"The JSON body nests deeper than {JSON_MAX_DEPTH} levels. Send a flat JSON object.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadBody("The request body must be JSON (Content-Type: application/json), "
                      "e.g. {\"license\": \"sk-…\", \"character_name\": \"navtalk.Leo\", …}.") from None


def is_text(value) -> bool:
    """A str that is valid Unicode (JSON may carry lone surrogates such as "\\ud800")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def character_names() -> tuple[str, ...]:
    """The built-in characters. `engine.characters` is a plain catalog (no numpy), so
    the web side reads it without importing the renderer."""
    from engine.characters import CHARACTERS

    return tuple(CHARACTERS)


def audio_kind(data: bytes) -> str | None:
    """The audio container the bytes start with ('wav', 'mp3', 'ogg', 'flac', 'm4a'), or None."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3":
        return "mp3"
    # MPEG audio frame sync: 11 set bits, then a valid version (not 01) and layer (not 00).
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0 and (data[1] & 0x18) != 0x08 \
            and (data[1] & 0x06) != 0:
        return "mp3"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "m4a"
    return None


_DATA_URL_PREFIX = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)


def decode_base64_audio(value: str) -> bytes:
    """Decode standard or URL-safe base64 (an optional `data:…;base64,` prefix and
    whitespace are tolerated). Raises ValueError with a message for a person."""
    text = _DATA_URL_PREFIX.sub("", value.strip())
    text = "".join(text.split())
    text += "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            data = base64.urlsafe_b64decode(text.encode("ascii"))
        else:
            data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError("audio_base64 is not valid base64. Send the audio file's bytes base64-encoded.") from None
    if not data:
        raise ValueError("audio_base64 is empty. Send the audio file's bytes base64-encoded.")
    return data


def _check_url(field: str, value) -> str | None:
    if not isinstance(value, str):
        return f"{field} must be a string with an http(s) link."
    if len(value) > URL_MAX_CHARS:
        return f"{field} is too long (over {URL_MAX_CHARS} characters)."
    if not is_text(value):
        return f"{field} contains characters that are not valid text."
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return (f"{field} is not a valid link (check the brackets and the port). "
                "Use a full link such as https://example.com/file.")
    if parts.scheme.lower() not in ("http", "https"):
        return f"{field} must start with http:// or https:// (got {value[:40]!r})."
    if parts.username is not None or parts.password is not None:
        return f"{field} must not contain a user name or password (user@host). Use the file's public link."
    if not parts.hostname:
        return f"{field} has no host name. Use a full link such as https://example.com/file."
    return None


def _whole_number(value):
    """The int value of a JSON number that is whole, else None (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _present(body: dict, field: str) -> bool:
    return body.get(field) not in (None, "")


def validate_generate(body, *, content_max_chars: int, audio_max_bytes: int,
                      characters: tuple[str, ...] | None = None) -> tuple[dict, dict]:
    """Check a `/generate` body against the NavTalk contract. Returns (cleaned, errors)."""
    if not isinstance(body, dict):
        return {}, {"body": "The request body must be a JSON object, e.g. {\"license\": \"sk-…\", …}."}
    errors: dict[str, str] = {}
    cleaned: dict = {}

    unknown = sorted(k for k in body if k not in KNOWN_FIELDS)
    for key in unknown:
        errors[str(key)[:64].encode("utf-8", "replace").decode()] = \
            f"Unknown field. Accepted fields: {', '.join(KNOWN_FIELDS)}."
    garbled = [key for key in KNOWN_FIELDS if isinstance(body.get(key), str) and not is_text(body[key])]
    for key in garbled:
        errors[key] = f"{key} contains characters that are not valid text (a lone surrogate)."
    if garbled:
        return {}, errors

    visuals = [f for f in VISUAL_FIELDS if _present(body, f)]
    audios = [f for f in AUDIO_FIELDS if _present(body, f)]
    if not visuals:
        errors["visual"] = "Give one visual source: video_url, image_url or character_name."
    elif len(visuals) > 1:
        errors["visual"] = f"Give only one visual source, not {' and '.join(visuals)}."
    if not audios:
        errors["audio"] = "Give one audio source: audio_url, audio_base64, or content with a voice."
    elif len(audios) > 1:
        errors["audio"] = f"Give only one audio source, not {' and '.join(audios)}."

    for field in ("video_url", "image_url", "audio_url"):
        if _present(body, field):
            problem = _check_url(field, body[field])
            if problem:
                errors[field] = problem
            else:
                cleaned[field] = body[field].strip()

    if _present(body, "character_name"):
        name = body["character_name"]
        available = character_names() if characters is None else characters
        match = None
        if isinstance(name, str):
            match = next((c for c in available if c.lower() == name.strip().lower()), None)
        if match is None:
            listing = ", ".join(available) if available else "(none installed)"
            errors["character_name"] = f"Unknown character {str(name)[:60]!r}. Available characters: {listing}."
        else:
            cleaned["character_name"] = match

    voice = body.get("voice")
    if _present(body, "content"):
        content = body["content"]
        if not isinstance(content, str) or not content.strip():
            errors["content"] = "content must be the text to speak."
        elif len(content) > content_max_chars:
            errors["content"] = (f"content is {len(content)} characters; the limit is {content_max_chars}. "
                                 "Shorten the text or split it into several videos.")
        else:
            cleaned["content"] = content.strip()
        if voice in (None, ""):
            errors["voice"] = f"voice is required with content. Choose one of: {', '.join(VOICES)}."
    if voice not in (None, ""):
        if not _present(body, "content"):
            errors["voice"] = "voice is only used with content (text to speech); remove it or add content."
        elif not isinstance(voice, str) or voice.strip().lower() not in VOICES:
            errors["voice"] = f"Unknown voice {str(voice)[:40]!r}. Choose one of: {', '.join(VOICES)}."
        else:
            cleaned["voice"] = voice.strip().lower()

    if _present(body, "audio_base64"):
        value = body["audio_base64"]
        if not isinstance(value, str):
            errors["audio_base64"] = "audio_base64 must be a string of base64-encoded audio."
        else:
            try:
                data = decode_base64_audio(value)
            except ValueError as exc:
                errors["audio_base64"] = str(exc)
            else:
                kind = audio_kind(data)
                if len(data) > audio_max_bytes:
                    errors["audio_base64"] = (f"The audio is {len(data) / 1e6:.1f} MB; the limit is "
                                              f"{audio_max_bytes / 1e6:.0f} MB. Use a shorter clip.")
                elif kind is None:
                    errors["audio_base64"] = ("audio_base64 does not decode to a known audio file "
                                              "(WAV, MP3, OGG, FLAC or M4A). Check that you encoded the file itself.")
                else:
                    cleaned["audio_bytes"] = data
                    cleaned["audio_kind"] = kind

    for field, param in NUMBER_PARAMS.items():
        low, high = param.low, param.high
        if field in body and body[field] is not None:
            number = _whole_number(body[field])
            if number is None or not low <= number <= high:
                errors[field] = f"{field} must be a whole number from {low} to {high} (got {body[field]!r})."
            else:
                cleaned[field] = number
    if body.get("parsing_mode") is not None:
        mode = body["parsing_mode"]
        if not isinstance(mode, str) or mode not in PARSING_MODES:  # a list or object is unhashable
            errors["parsing_mode"] = f"parsing_mode must be \"jaw\" or \"raw\" (got {str(mode)[:20]!r})."
        else:
            cleaned["parsing_mode"] = mode

    return (cleaned if not errors else {}), errors


def error_message(errors: dict[str, str]) -> str:
    """One line summing up the field errors, for the response's `message`."""
    if len(errors) == 1:
        return next(iter(errors.values()))
    return f"The request has {len(errors)} problems: " + " ".join(f"{k}: {v}" for k, v in errors.items())


# --- inputs the engine downloaded ------------------------------------------------------

class InputOverCap(Exception):
    """A downloaded input costs more to render than the caps allow (message for a person)."""


def check_input(path, kind: str, field: str, caps=None) -> None:
    """Refuse a downloaded image/video/audio over the render caps (lib.mediacaps), by its
    content: pixels, video resolution and duration, audio duration."""
    from lib import mediacaps

    problem = mediacaps.check(path, kind, caps or mediacaps.Caps.from_settings())
    if problem:
        raise InputOverCap(f"{field}: {problem}")
