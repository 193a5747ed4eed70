"""The SSRF-safe fetcher against real HTTP servers on loopback."""

import time

import pytest

from lib.fetch import FetchError, fetch_to_file
from tests.support.http import Routes, raw


@pytest.fixture
def other():
    server = Routes({"/secret": raw(b"internal data", headers={"Content-Type": "text/plain"})})
    yield server
    server.close()


@pytest.fixture
def server(other):
    body = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000
    server = Routes({
        "/video.mp4": raw(body, headers={"Content-Type": "video/mp4"}),
        "/big": raw(b"y" * 300_000),
        "/slow": raw(b"z", delay=3),
        "/gone": raw(b"", 404),
        "/redirect-out": raw(b"", 302, headers={"Location": other.url + "/secret"}),
        "/redirect-ftp": raw(b"", 302, headers={"Location": "ftp://127.0.0.1/x"}),
        "/redirect-in": raw(b"", 302, headers={"Location": "/video.mp4"}),
    })
    server.body = body
    yield server
    server.close()


def test_it_downloads_an_allowed_url_atomically(server, tmp_path):
    dest = tmp_path / "out.mp4"
    result = fetch_to_file(server.url + "/video.mp4", dest, max_bytes=10**6, timeout=5, allowed=server.allowed)
    assert dest.read_bytes() == server.body
    assert (result.size, result.content_type) == (len(server.body), "video/mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_it_refuses_loopback_unless_explicitly_allowed(server, tmp_path):
    with pytest.raises(FetchError) as info:
        fetch_to_file(server.url + "/video.mp4", tmp_path / "x", max_bytes=10**6, timeout=5)
    assert info.value.kind == "unreachable" and info.value.permanent
    assert "127.0.0.1" not in info.value.message and str(server.port) not in info.value.message
    assert list(tmp_path.iterdir()) == []


def test_it_checks_every_redirect_at_connect_time(server, tmp_path):
    # The first hop is allowed; the redirect goes to another loopback port that is not.
    with pytest.raises(FetchError) as info:
        fetch_to_file(server.url + "/redirect-out", tmp_path / "x", max_bytes=10**6, timeout=5,
                      allowed=server.allowed)
    assert info.value.kind == "unreachable"
    result = fetch_to_file(server.url + "/redirect-in", tmp_path / "ok", max_bytes=10**6, timeout=5,
                           allowed=server.allowed)
    assert result.size == len(server.body)


def test_it_refuses_other_schemes_also_on_redirect(server, tmp_path):
    with pytest.raises(FetchError) as info:
        fetch_to_file("ftp://127.0.0.1/x", tmp_path / "x", max_bytes=10, timeout=5)
    assert "http and https" in info.value.message
    with pytest.raises(FetchError):
        fetch_to_file(server.url + "/redirect-ftp", tmp_path / "x", max_bytes=10**6, timeout=5,
                      allowed=server.allowed)
    assert list(tmp_path.iterdir()) == []


def test_it_caps_size_and_time_and_leaves_no_partial_file(server, tmp_path):
    with pytest.raises(FetchError) as info:
        fetch_to_file(server.url + "/big", tmp_path / "big", max_bytes=100_000, timeout=5, allowed=server.allowed)
    assert "larger than" in info.value.message and info.value.permanent
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch_to_file(server.url + "/slow", tmp_path / "slow", max_bytes=10**6, timeout=1, allowed=server.allowed)
    assert time.monotonic() - started < 2.5
    assert "Timed out" in info.value.message and not info.value.permanent
    assert list(tmp_path.iterdir()) == []


def test_it_reports_http_errors(server, tmp_path):
    with pytest.raises(FetchError) as info:
        fetch_to_file(server.url + "/gone", tmp_path / "x", max_bytes=10**6, timeout=5, allowed=server.allowed)
    assert info.value.message == "The server answered HTTP 404." and info.value.permanent
