"""Serving a file with single-range support (HTTP Range / If-Range), as browsers' <video>
and <audio> elements expect to seek. Used by the engine's /engine/media/ and by the
portal's archived results and voice samples, from a path or from a Django storage
(`ranged_storage_response`: filesystem or S3, streamed).

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
    return _respond(request, size=stat.st_size, etag=f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
                    modified=stat.st_mtime, whole=lambda: FileResponse(open(path, "rb"), content_type=content_type),
                    part=lambda start, length: _file_part(path, start, length), content_type=content_type,
                    cache_control=cache_control, unsatisfiable=unsatisfiable, filename=filename,
                    attachment=attachment)


def ranged_storage_response(request, storage, name: str, *, content_type: str, cache_control: str,
                            unsatisfiable=None, filename: str | None = None, attachment: bool = False):
    """The same for a file in a Django storage (filesystem or S3), streamed through
    lib.storage: a range is one ranged GET on S3, never the whole object in memory.
    Raises FileNotFoundError when the file is missing."""
    from . import storage as stored

    info = stored.stat(storage, name)

    def whole():
        response = StreamingHttpResponse(stored.iter_range(storage, name), content_type=content_type)
        response["Content-Length"] = str(info.size)
        return response

    return _respond(request, size=info.size, etag=info.etag, modified=info.modified.timestamp(), whole=whole,
                    part=lambda start, length: stored.iter_range(storage, name, start, length),
                    content_type=content_type, cache_control=cache_control, unsatisfiable=unsatisfiable,
                    filename=filename, attachment=attachment)


def _respond(request, *, size: int, etag: str, modified: float, whole, part, content_type: str, cache_control: str,
             unsatisfiable, filename: str | None, attachment: bool):
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
        response = whole()
    else:
        start, end = wanted
        response = StreamingHttpResponse(part(start, end - start + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if filename:
        kind = "attachment" if attachment else "inline"
        response["Content-Disposition"] = f'{kind}; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = cache_control
    return response
