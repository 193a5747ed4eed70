"""The local engine's input downloads go through the one SSRF-safe fetcher, word their
failures without revealing internal ports, and refuse inputs over the render caps."""

import io
import socket
import wave

import pytest
from PIL import Image

from engine import services
from engine.fetch import FetchError, fetch_to_file
from engine.models import EngineTask, fingerprint
from tests.engine.api_support import ALICE
from tests.support.http import Routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal():
    """A loopback service the engine must never reach (not in any allow-list)."""
    server = Routes()
    server.add("/face.jpg", b"\xff\xd8internal picture")
    server.add("/admin", b"<!DOCTYPE html><html>admin</html>")
    yield server
    server.close()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(url, tmp_path, **options):
    return fetch_to_file(url, tmp_path / "in.bin", field="image_url", max_bytes=10**6, timeout=5, **options)


@pytest.mark.parametrize("template", [
    "{url}/face.jpg", "http://localhost:{port}/face.jpg", "http://0.0.0.0:{port}/face.jpg",
    "http://[::ffff:127.0.0.1]:{port}/face.jpg", "http://[::7f00:1]:{port}/face.jpg",
])
def test_the_engine_does_not_fetch_loopback(internal, tmp_path, template):
    port = internal.url.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as info:
        _fetch(template.format(url=internal.url, port=port), tmp_path)
    assert "could not connect to the server" in str(info.value)
    assert not (tmp_path / "in.bin").exists()


def test_an_internal_port_reads_like_a_dead_one(internal, tmp_path):
    """A port scan learns nothing: a live internal service (even one answering a web page)
    and a closed port give the same words."""
    port = internal.url.rsplit(":", 1)[1]
    messages = set()
    for url in (internal.url + "/face.jpg", internal.url + "/admin", f"http://127.0.0.1:{_dead_port()}/x.jpg"):
        with pytest.raises(FetchError) as info:
            _fetch(url, tmp_path)
        messages.add(str(info.value))
        assert port not in str(info.value)
    assert len(messages) == 1


def test_a_redirect_to_loopback_is_refused(internal, tmp_path):
    public = Routes()
    try:
        url = public.add("/go.jpg", b"", status=302, headers={"Location": internal.url + "/face.jpg"})
        with pytest.raises(FetchError, match="could not connect"):
            _fetch(url, tmp_path, allowed=(public.url,))
    finally:
        public.close()


def test_the_portal_signed_media_path_is_the_only_private_allowance(internal, tmp_path):
    internal.add("/m/token/face.jpg", b"\xff\xd8signed picture")
    allowed = (internal.url + "/m/",)
    fetched = _fetch(internal.url + "/m/token/face.jpg", tmp_path, allowed=allowed)
    assert fetched.read_bytes() == b"\xff\xd8signed picture"
    with pytest.raises(FetchError, match="could not connect"):
        _fetch(internal.url + "/face.jpg", tmp_path, allowed=allowed)


def _png(width, height) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


def test_the_engine_refuses_an_over_cap_picture_before_rendering(settings, tmp_path):
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine"
    settings.MEDIA_MAX_IMAGE_PIXELS = 1_000_000
    files = Routes()
    try:
        settings.ENGINE_FETCH_ALLOWED_PRIVATE = (files.url,)
        task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request={
            "image_url": files.add("/huge.png", _png(1500, 1000)), "content": "Hi.", "voice": "ash"})
        services.run_render(task.task_id)
    finally:
        files.close()
    task.refresh_from_db()
    assert (task.status, task.failure_code) == ("failed", "invalid_input")
    assert "1500×1000 px" in task.message and "limit is 1.0 MP" in task.message


def test_the_engine_refuses_over_cap_audio(settings, tmp_path):
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine"
    settings.MEDIA_MAX_AUDIO_SECONDS = 2
    path = tmp_path / "engine" / "inputs" / "a.wav"
    path.parent.mkdir(parents=True)
    path.write_bytes(_wav(3))
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), input_audio="inputs/a.wav",
                                     request={"character_name": "navtalk.Leo"})
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.failure_code) == ("failed", "invalid_input")
    assert "3 s long; the limit is 2 s" in task.message
