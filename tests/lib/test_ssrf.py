"""SSRF: the one fetcher refuses every non-public address, whatever the spelling, on
every hop, allows only exact origins (and path prefixes), and cuts off drips."""

import socket

import pytest

from lib.addresses import is_public_ip, link_problem, parse_origins
from lib.fetch import UNREACHABLE, FetchError, fetch_to_file
from tests.support.http import Routes, raw


@pytest.fixture
def secret():
    server = Routes({"/secret": raw(b"internal data", headers={"Content-Type": "text/plain"}),
                     "/m/ok.jpg": raw(b"\xff\xd8picture"),
                     "/m/hop": raw(b"", 302, headers={"Location": "/secret"})})
    yield server
    server.close()


@pytest.mark.parametrize("ip", [
    "127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
    "::", "::1", "::ffff:127.0.0.1", "::7f00:1", "::a00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::", "fe80::1", "fc00::1", "ff02::1", "224.0.0.1",
])
def test_non_public_addresses_in_every_spelling_are_not_public(ip):
    assert not is_public_ip(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"])
def test_public_addresses_are_public(ip):
    assert is_public_ip(ip)


def _get(url, tmp_path, **options):
    return fetch_to_file(url, tmp_path / "x", max_bytes=10**6, timeout=5, **options)


@pytest.mark.parametrize("template", [
    "http://127.0.0.1:{port}/secret", "http://localhost:{port}/secret", "http://0.0.0.0:{port}/secret",
    "http://[::]:{port}/secret", "http://[::1]:{port}/secret", "http://[::ffff:127.0.0.1]:{port}/secret",
    "http://[::7f00:1]:{port}/secret", "http://good.example@127.0.0.1:{port}/secret",
    "http://127.1:{port}/secret", "http://2130706433:{port}/secret",
])
def test_every_spelling_of_loopback_is_refused_with_a_neutral_message(secret, tmp_path, template):
    with pytest.raises(FetchError) as info:
        _get(template.format(port=secret.port), tmp_path)
    assert info.value.kind in ("unreachable", "userinfo")
    assert str(secret.port) not in info.value.message and "127" not in info.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_refused_address_and_a_dead_port_read_the_same(secret, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    messages = set()
    for url in (f"http://127.0.0.1:{secret.port}/secret", f"http://127.0.0.1:{dead}/x"):
        with pytest.raises(FetchError) as info:
            _get(url, tmp_path, allowed=(f"http://127.0.0.1:{dead}",))
        messages.add(info.value.message)
    assert messages == {UNREACHABLE}


def test_only_the_exact_origin_and_path_prefix_are_allowed(secret, tmp_path):
    allowed = (secret.url + "/m/",)
    assert _get(secret.url + "/m/ok.jpg", tmp_path, allowed=allowed).size == len(b"\xff\xd8picture")
    for url in (secret.url + "/secret", secret.url + "/m/../secret", secret.url + "/m/hop",
                f"http://localhost:{secret.port}/m/ok.jpg", f"https://127.0.0.1:{secret.port}/m/ok.jpg"):
        with pytest.raises(FetchError) as info:
            _get(url, tmp_path / "n", allowed=allowed)
        assert info.value.kind == "unreachable", url


def test_origins_parse_exactly():
    (origin,) = parse_origins(["HTTP://LocalHost:8000/m/"])
    assert (origin.scheme, origin.host, origin.port, origin.path_prefix) == ("http", "localhost", 8000, "/m/")
    assert parse_origins(["127.0.0.1:8000", "ftp://x/", "http://u@h/"]) == ()


def test_a_redirect_from_an_allowed_origin_to_loopback_is_refused(secret, tmp_path):
    hop = Routes({"/go": raw(b"", 302, headers={"Location": secret.url + "/secret"})})
    try:
        with pytest.raises(FetchError) as info:
            _get(hop.url + "/go", tmp_path, allowed=(hop.url,))
        assert info.value.kind == "unreachable"
    finally:
        hop.close()


def test_a_dripping_link_is_cut_off_by_the_minimum_rate(tmp_path):
    drip = Routes()
    url = drip.add("/x", b"x" * 100_000, drip=0.2)  # one byte every 0.2 s: ~5.5 hours in all
    try:
        with pytest.raises(FetchError) as info:
            fetch_to_file(url, tmp_path / "x", max_bytes=10**6, timeout=60, allowed=drip.allowed,
                          min_rate=100, min_rate_seconds=2)
        # Cut by the rate check ("slow"), long before the 60 s cap would ("timeout").
        assert info.value.kind == "slow" and "too slowly" in info.value.message
    finally:
        drip.close()


@pytest.mark.parametrize("url,words", [
    ("http://127.0.0.1/x.jpg", "private or local"), ("http://localhost:8000/x", "private or local"),
    ("http://[::ffff:10.0.0.1]/x", "private or local"), ("http://0.0.0.0/x", "private or local"),
    ("http://[::1/x", "not valid"), ("http://good@127.0.0.1/x", "user name"), ("ftp://x.example/a", "http://"),
    ("http://a.example:99999/x", "not valid"),
])
def test_link_problem_explains_links_the_server_must_not_fetch(url, words):
    assert words in (link_problem(url) or "")


def test_link_problem_accepts_an_allowed_origin():
    assert link_problem("http://127.0.0.1:8000/m/abc", parse_origins(["http://127.0.0.1:8000/m/"])) is None
    assert link_problem("http://127.0.0.1:8000/admin/", parse_origins(["http://127.0.0.1:8000/m/"]))
