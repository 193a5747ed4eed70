"""jobs.client against a real HTTP server: exact payloads and error classification."""

import pytest

from navtalk.client import GenerateRequest, NavTalkClient, NavTalkError
from tests.support.http import Reply


@pytest.fixture
def client(upstream):
    return NavTalkClient(upstream.generate_url, upstream.query_status_url, connect_timeout=2, read_timeout=1)


def test_it_sends_exactly_the_documented_fields(client, upstream):
    submitted = client.generate("sk-xyz", GenerateRequest(image_url="https://e.com/p.jpg", content="Hi", voice="echo",
                                                           bbox_shift=3))
    assert submitted.task_id == "t-1"
    [call] = upstream.calls("generate")
    assert call["json"] == {"license": "sk-xyz", "image_url": "https://e.com/p.jpg", "content": "Hi",
                            "voice": "echo", "bbox_shift": 3}
    assert call["content_type"] == "application/json"


def test_it_refuses_to_build_an_ambiguous_request():
    with pytest.raises(ValueError):
        GenerateRequest(image_url="https://e.com/a.jpg", video_url="https://e.com/a.mp4", audio_url="https://e.com/a.mp3")
    with pytest.raises(ValueError):
        GenerateRequest(image_url="https://e.com/a.jpg")
    with pytest.raises(ValueError):
        GenerateRequest(image_url="https://e.com/a.jpg", content="Hi")
    with pytest.raises(ValueError):
        GenerateRequest(image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3", voice="echo")


def test_it_queries_status_with_license_and_task_id(client, upstream):
    upstream.script("query_status", Reply(body={"status": "done", "video_url": "https://cdn/x.mp4"}))
    status = client.query_status("sk-xyz", "t-9")
    assert (status.status, status.video_url) == ("done", "https://cdn/x.mp4")
    [call] = upstream.calls("query_status")
    assert call["path"] == "/query_status"
    assert call["query"] == {"license": "sk-xyz", "task_id": "t-9"}


def test_it_reads_the_failure_message(client, upstream):
    upstream.script("query_status",
                    Reply(body={"status": "failed", "message": "Kein Gesicht", "code": "face_not_found"}))
    status = client.query_status("sk", "t")
    assert (status.status, status.category, status.message) == ("failed", "face_not_found", "Kein Gesicht")


@pytest.mark.parametrize("reply", [
    {"status": "failed", "message": "Face not found in image"},  # words are never guessed at
    {"status": "failed", "message": "x", "code": "no_such_category"},
    {"status": "failed", "message": "x", "code": "rate_limited"},  # not a task failure code
    {"status": "failed", "message": "x", "code": ["face_not_found"]},
])
def test_it_takes_a_failure_category_only_from_a_known_code(client, upstream, reply):
    upstream.script("query_status", Reply(body=reply))
    assert client.query_status("sk", "t").category == "generation_failed"


@pytest.mark.parametrize(
    "code, permanent, category",
    [(400, True, "invalid_input"), (401, True, "auth"), (403, True, "auth"), (404, True, "not_found"),
     (408, False, "timeout"), (429, False, "rate_limited"), (500, False, "upstream_error"),
     (503, False, "upstream_error")],
)
def test_it_classifies_http_errors(client, upstream, code, permanent, category):
    upstream.script("generate", Reply(status=code, body={"status": "error", "message": f"nope {code}"}))
    with pytest.raises(NavTalkError) as info:
        client.generate("sk", GenerateRequest(character_name="navtalk.Leo", content="Hi", voice="nova"))
    err = info.value
    assert (err.permanent, err.category, err.status_code) == (permanent, category, code)
    assert err.message == f"nope {code}"
    assert err.maybe_received is False


def test_it_honours_retry_after(client, upstream):
    upstream.script("query_status", Reply(status=429, body={"message": "slow down"}, headers={"Retry-After": "7"}))
    with pytest.raises(NavTalkError) as info:
        client.query_status("sk", "t-1")
    assert info.value.retry_after == 7.0
    assert not info.value.permanent


@pytest.mark.parametrize("raw", [b"<html>oops</html>", b"", b"[1, 2]"])
def test_it_treats_unparseable_bodies_as_transient(client, upstream, raw):
    upstream.script("generate", Reply(raw=raw))
    with pytest.raises(NavTalkError) as info:
        client.generate("sk", GenerateRequest(character_name="navtalk.Leo", content="Hi", voice="nova"))
    assert (info.value.permanent, info.value.category) == (False, "upstream_error")


def test_it_rejects_unknown_statuses_and_done_without_url(client, upstream):
    upstream.script("query_status", Reply(body={"status": "weird"}), Reply(body={"status": "done"}))
    for _ in range(2):
        with pytest.raises(NavTalkError) as info:
            client.query_status("sk", "t")
        assert not info.value.permanent


def test_it_times_out_and_says_the_upstream_may_have_received_it(client, upstream):
    upstream.script("generate", Reply(body={"status": "started", "task_id": "late"}, delay=2.5))
    with pytest.raises(NavTalkError) as info:
        client.generate("sk", GenerateRequest(character_name="navtalk.Leo", content="Hi", voice="nova"))
    assert (info.value.category, info.value.permanent, info.value.maybe_received) == ("timeout", False, True)


def test_it_knows_a_refused_connection_was_never_sent():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = NavTalkClient(f"http://127.0.0.1:{port}/generate", f"http://127.0.0.1:{port}/q", read_timeout=1)
    with pytest.raises(NavTalkError) as info:
        client.generate("sk-secret-value", GenerateRequest(character_name="navtalk.Leo", content="Hi", voice="nova"))
    assert info.value.maybe_received is False
    assert "sk-secret-value" not in str(info.value) and "sk-secret-value" not in repr(info.value.reply)


def test_it_scrubs_a_license_the_upstream_echoes_back(client, upstream):
    upstream.script("generate", Reply(status=401, body={"message": "License sk-echo-123456 is not valid"}),
                    Reply(raw=b"oops sk-echo-123456"))
    for _ in range(2):
        with pytest.raises(NavTalkError) as info:
            client.generate("sk-echo-123456", GenerateRequest(character_name="navtalk.Leo", content="Hi", voice="nova"))
        assert "sk-echo-123456" not in repr(info.value.reply) + info.value.message
    upstream.script("query_status", Reply(body={"status": "failed", "message": "bad license sk-echo-123456"}))
    status = client.query_status("sk-echo-123456", "t-1")
    assert "sk-echo-123456" not in status.message + repr(status.raw)
    assert status.message == "bad license …3456"
