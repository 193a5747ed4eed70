"""The engine's input downloads: streamed, capped by size and time, explained in words a
person can act on."""

import time

import pytest

from engine.fetch import FetchError, fetch_to_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


# --- fetch ----------------------------------------------------------------------------

def _fetch(url, tmp_path, **options):
    origin = "/".join(url.split("/")[:3])  # the link's own loopback origin, allowed explicitly
    options = {"field": "image_url", "max_bytes": 1000, "timeout": 2.0, "allowed": (origin,), **options}
    return fetch_to_file(url, tmp_path / "in.bin", **options)


def test_fetch_streams_a_file(files, tmp_path):
    path = _fetch(files.add("/a.jpg", b"\xff\xd8" + b"x" * 500), tmp_path)
    assert path.read_bytes() == b"\xff\xd8" + b"x" * 500


@pytest.mark.parametrize("status,message", [
    (404, "Could not download image_url: HTTP 404. Make sure the link is public."),
    (403, "Could not download image_url: HTTP 403. Make sure the link is public."),
    (503, "Could not download image_url: the server answered HTTP 503. Try again later"),
])
def test_fetch_explains_http_errors(files, tmp_path, status, message):
    with pytest.raises(FetchError, match=message.replace(".", r"\.")):
        _fetch(files.add("/x.jpg", b"nope", status=status), tmp_path)
    assert not (tmp_path / "in.bin").exists()


def test_fetch_refuses_a_file_too_big_by_header_or_by_stream(files, tmp_path):
    with pytest.raises(FetchError, match="larger than the"):
        _fetch(files.add("/big.jpg", b"x" * 2000), tmp_path)
    with pytest.raises(FetchError, match="larger than the"):  # no Content-Length: counted while streaming
        _fetch(files.add("/big2.jpg", b"x" * 2000, headers={"Connection": "close"}, drip=0.0001), tmp_path,
               timeout=10)
    assert not (tmp_path / "in.bin").exists()


def test_fetch_gives_up_at_the_total_time_cap(files, tmp_path):
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not finish within 1 s"):
        _fetch(files.add("/slow.jpg", b"x" * 100, headers={"Connection": "close"}, drip=0.05), tmp_path,
               timeout=1.0)
    assert time.monotonic() - started < 3


def test_fetch_refuses_web_pages_and_empty_files(files, tmp_path):
    with pytest.raises(FetchError, match="returned a web page"):
        _fetch(files.add("/login", b"<!DOCTYPE html><html>log in</html>"), tmp_path)
    with pytest.raises(FetchError, match="the file is empty"):
        _fetch(files.add("/empty.jpg", b""), tmp_path)


def test_fetch_explains_an_unreachable_server(tmp_path):
    with pytest.raises(FetchError, match="could not connect to the server"):
        _fetch("http://127.0.0.1:9/a.jpg", tmp_path)


def test_fetch_follows_redirects(files, tmp_path):
    files.add("/real.jpg", b"\xff\xd8real")
    url = files.add("/moved.jpg", b"", status=302, headers={"Location": "/real.jpg"})
    assert _fetch(url, tmp_path).read_bytes() == b"\xff\xd8real"
