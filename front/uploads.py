"""What an uploaded file really is: checked by its content (magic bytes via `filetype`, and
images decoded once with Pillow), never by its name or the browser's content type."""

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image

from lib import mediacaps

# What each kind of upload may be: sniffed MIME type -> stored extension.
UPLOAD_KINDS = {
    "video": ({"video/mp4": "mp4", "video/quicktime": "mov"}, "UPLOAD_MAX_VIDEO_MB", "an MP4 or MOV video"),
    "image": ({"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}, "UPLOAD_MAX_IMAGE_MB",
              "a JPG, PNG or WebP image"),
    "audio": ({"audio/mpeg": "mp3", "audio/x-wav": "wav", "audio/wav": "wav"}, "UPLOAD_MAX_AUDIO_MB",
              "an MP3 or WAV audio file"),
}
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def _sniff(head: bytes) -> tuple[str | None, str]:
    """(mime, description) of a file's first bytes."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime, kind.extension.upper()
    # MPEG audio frame sync without an ID3 tag (filetype misses some layer-III headers).
    if len(head) > 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 0b11 == 0b01:
        return "audio/mpeg", "MP3"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # maybe only a character cut at the 8 KB boundary
        text = head[:exc.start].decode("utf-8") if exc.start >= len(head) - 3 else None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return None, "plain text"
    return None, "an unknown format"


def check_upload(upload, kind: str) -> str:
    """Raise ValidationError unless `upload` really is `kind` within its size limit.
    Returns the extension the file is stored under."""
    mimes, limit_setting, what = UPLOAD_KINDS[kind]
    limit_mb = getattr(settings, limit_setting)
    if upload.size > limit_mb * 1024 * 1024:
        raise ValidationError(
            f"“{upload.name}” is {upload.size / 1024 / 1024:.1f} MB; the limit is {limit_mb} MB. "
            "Choose a smaller file.", code="too_large")
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    mime, described = _sniff(head)
    if mime not in mimes:
        raise ValidationError(f"“{upload.name}” is not {what} (its content looks like {described}). "
                              "Choose another file.", code="wrong_type")
    ext = mimes[mime]
    if kind == "image":
        # Pixels first, from the header only (this also sets Pillow's bomb guard to the cap).
        problem = mediacaps.image_problem(upload, mediacaps.Caps.from_settings())
        upload.seek(0)
        if problem and problem != mediacaps.UNREADABLE_IMAGE:
            raise ValidationError(f"“{upload.name}”: {problem}", code="over_cap")
        try:
            with Image.open(upload) as image:
                image_format = image.format
                image.verify()
        except Exception:  # Pillow raises many types for broken or hostile files
            image_format = None
        upload.seek(0)
        if image_format != PILLOW_FORMATS[ext]:
            raise ValidationError(f"“{upload.name}” could not be read as {what}. Choose another file.",
                                  code="broken_image")
    else:
        _check_caps(upload, kind)
    return ext


def _check_caps(upload, kind: str) -> None:
    """Pixels, resolution and duration, read from the content's headers (lib.mediacaps)."""
    source = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
    upload.seek(0)
    try:
        problem = mediacaps.check(source, kind, mediacaps.Caps.from_settings())
    finally:
        upload.seek(0)
    if problem:
        raise ValidationError(f"“{upload.name}”: {problem}", code="over_cap")


def audio_length(upload=None, stored_name: str = "") -> float | None:
    """Seconds of an audio upload (or of a file already in media storage), read from its
    headers; None when unknown (jobs.approvals then treats the length as unknown)."""
    if upload is not None:
        source = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
        upload.seek(0)
        try:
            return mediacaps.duration(source)
        finally:
            upload.seek(0)
    if stored_name:
        from django.core.files.storage import default_storage

        try:
            with default_storage.open(stored_name, "rb") as fh:
                return mediacaps.duration(fh)
        except OSError:
            return None
    return None
