"""lib.fetch.post (webhooks) against real HTTP servers on loopback: the same connect-time
address check as downloads, no redirect followed, the answer's start only."""

import pytest

from lib.fetch import FetchError, post
from tests.support.http import LoopbackServer, Reply, raw


@pytest.fixture
def receiver():
    got = []

    def respond(request):
        got.append(request)
        if request.path == "/moved":
            return raw(b"", 302, headers={"Location": "/hook"})
        if request.path == "/big":
            return raw(b"x" * 100_000, 500)
        return Reply(204, raw=b"")

    server = LoopbackServer(respond)
    server.got = got
    yield server
    server.close()


def test_it_posts_the_body_and_headers_to_an_allowed_receiver(receiver):
    answer = post(receiver.url + "/hook", b'{"a": 1}', {"Content-Type": "application/json", "webhook-id": "msg_1"},
                  timeout=5, allowed=receiver.allowed)
    assert answer.status == 204
    (request,) = receiver.got
    assert (request.method, request.path, request.body) == ("POST", "/hook", b'{"a": 1}')
    assert request.headers["webhook-id"] == "msg_1" and request.headers["Content-Type"] == "application/json"


def test_it_refuses_a_private_receiver_unless_allowed_and_names_no_address(receiver):
    with pytest.raises(FetchError) as info:
        post(receiver.url + "/hook", b"{}", {}, timeout=5)
    assert info.value.kind == "unreachable" and str(receiver.port) not in info.value.message
    assert receiver.got == []
    with pytest.raises(FetchError):
        post("ftp://example.com/hook", b"{}", {}, timeout=5)


def test_it_never_follows_a_redirect_and_keeps_only_the_start_of_the_answer(receiver):
    moved = post(receiver.url + "/moved", b"{}", {}, timeout=5, allowed=receiver.allowed)
    assert moved.status == 302 and [r.path for r in receiver.got] == ["/moved"]
    big = post(receiver.url + "/big", b"{}", {}, timeout=5, allowed=receiver.allowed, max_response_bytes=100)
    assert (big.status, big.body) == (500, b"x" * 100)
