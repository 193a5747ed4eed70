"""Voice samples: each of the 11 voices is rendered once by the engine's TTS, cached in
media storage, and served (with Range) to logged-in people."""

import threading
import time
import wave

import pytest
from django.core.management import call_command
from django.urls import reverse

from front import voices
from jobs.models import Job


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_it_renders_a_sample_once_and_then_serves_the_cached_file(client, alice, media_root, monkeypatch):
    client.force_login(alice)
    response = client.get(reverse("jobs:voice_sample", args=["nova"]))
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    data = body(response)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(str(media_root / "voices" / "nova.wav")) as w:
        assert w.getnchannels() == 1 and w.getnframes() / w.getframerate() > 1.0

    def must_not_render(name, out):
        raise AssertionError("rendered again")

    monkeypatch.setattr(voices, "_synthesize", must_not_render)
    again = client.get(reverse("jobs:voice_sample", args=["nova"]), HTTP_RANGE="bytes=0-43")
    assert again.status_code == 206 and body(again) == data[:44]


@pytest.mark.django_db
def test_concurrent_first_requests_render_once(media_root, monkeypatch):
    calls = []

    def fake(name, out):
        calls.append(name)
        time.sleep(0.2)
        out.write_bytes(b"RIFF....WAVE")

    monkeypatch.setattr(voices, "_synthesize", fake)
    threads = [threading.Thread(target=voices.ensure_sample, args=("ash",)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["ash"]


@pytest.mark.django_db
def test_unknown_voices_and_anonymous_people_get_nothing(client, alice):
    assert client.get(reverse("jobs:voice_sample", args=["nova"])).status_code == 302
    client.force_login(alice)
    assert client.get(reverse("jobs:voice_sample", args=["robot"])).status_code == 404


@pytest.mark.django_db
def test_a_failed_render_is_a_503(client, alice, monkeypatch):
    def broken(name, out):
        raise voices.SampleError(name)

    monkeypatch.setattr(voices, "_synthesize", broken)
    client.force_login(alice)
    assert client.get(reverse("jobs:voice_sample", args=["echo"])).status_code == 503


def test_the_command_renders_only_the_missing_samples(media_root, monkeypatch, capsys):
    rendered = []
    monkeypatch.setattr(voices, "_synthesize", lambda name, out: (rendered.append(name), out.write_bytes(b"RIFF")))
    (media_root / "voices").mkdir(parents=True)
    (media_root / "voices" / "alloy.wav").write_bytes(b"RIFF")
    call_command("voice_samples")
    assert sorted(rendered) == sorted(set(Job.VOICES) - {"alloy"})
    assert "rendered 10, 1 were ready" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_create_page_offers_every_sample_and_the_media_previews(client, alice):
    client.force_login(alice)
    html = client.get(reverse("jobs:create")).content.decode()
    for name in Job.VOICES:
        assert f'href="/voices/{name}.wav" data-voice-sample' in html
    for field in ("id_video_file", "id_video_url", "id_image_file", "id_image_url", "id_audio_file", "id_audio_url"):
        assert f'data-preview="{field}"' in html
    assert 'data-recorder="id_audio_file" hidden' in html  # shown by portal.js where recording works
    assert '<span>‹ less open</span><span>more open ›</span>' in html
