"""Voice samples: the portal fetches each voice's sample from the local engine over real
HTTP (the engine renders it once with its TTS), keeps it in media storage, and serves it
(with Range) to logged-in people."""

import threading
import wave

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from engine import catalog_views
from front import voices
from navtalk.contract import VOICES

pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def engine_over_http(live_server, settings, tmp_path):
    """The engine mounted in the live server; the portal reaches it only through its URL."""
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine-media"
    return settings.ENGINE_MEDIA_ROOT


@pytest.mark.django_db(transaction=True)
def test_it_fetches_a_sample_from_the_engine_once_and_then_serves_its_copy(client, alice, media_root,
                                                                              engine_over_http):
    client.force_login(alice)
    response = client.get(reverse("jobs:voice_sample", args=["nova"]))
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    data = body(response)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(str(media_root / "voices" / "nova.wav")) as w:
        assert w.getnchannels() == 1 and w.getnframes() / w.getframerate() > 1.0
    assert (engine_over_http / "voices" / "nova.wav").read_bytes() == data  # rendered by the engine

    (engine_over_http / "voices" / "nova.wav").unlink()  # a second fetch would now re-render: none happens
    again = client.get(reverse("jobs:voice_sample", args=["nova"]), HTTP_RANGE="bytes=0-43")
    assert again.status_code == 206 and body(again) == data[:44]
    assert not (engine_over_http / "voices" / "nova.wav").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_render_once_on_the_engine(engine_over_http, monkeypatch):
    rendered = []
    real = catalog_views.subprocess.run

    def counting(*args, **kwargs):
        rendered.append(args[0][-2])  # the voice
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog_views.subprocess, "run", counting)
    threads = [threading.Thread(target=voices.ensure_sample, args=("ash",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rendered == ["ash"]
    with default_storage.open(voices.sample_name("ash")) as fh:
        assert fh.read(4) == b"RIFF"


@pytest.mark.django_db
def test_unknown_voices_and_anonymous_people_get_nothing(client, alice):
    assert client.get(reverse("jobs:voice_sample", args=["nova"])).status_code == 302
    client.force_login(alice)
    assert client.get(reverse("jobs:voice_sample", args=["robot"])).status_code == 404


@pytest.mark.django_db
def test_an_unreachable_engine_is_a_503(client, alice, settings):
    settings.ENGINE_BASE_URL = "http://127.0.0.1:9/engine"  # discard port: nothing listens
    client.force_login(alice)
    assert client.get(reverse("jobs:voice_sample", args=["echo"])).status_code == 503
    assert not default_storage.exists(voices.sample_name("echo"))


@pytest.mark.django_db(transaction=True)
def test_the_command_fetches_only_the_missing_samples(media_root, engine_over_http, capsys):
    (media_root / "voices").mkdir(parents=True)
    for name in VOICES:
        if name != "coral":
            (media_root / "voices" / f"{name}.wav").write_bytes(b"RIFF")
    call_command("voice_samples")
    assert "fetched 1, 10 were ready" in capsys.readouterr().out
    assert (media_root / "voices" / "coral.wav").read_bytes()[:4] == b"RIFF"
    assert sorted(p.name for p in (engine_over_http / "voices").glob("*.wav")) == ["coral.wav"]


@pytest.mark.django_db
def test_the_create_page_offers_every_sample_and_the_media_previews(client, alice):
    client.force_login(alice)
    html = client.get(reverse("jobs:create")).content.decode()
    for name in VOICES:
        assert f'href="/voices/{name}.wav" data-voice-sample' in html
    for field in ("id_video_file", "id_video_url", "id_image_file", "id_image_url", "id_audio_file", "id_audio_url"):
        assert f'data-preview="{field}"' in html
    assert 'data-recorder="id_audio_file" hidden' in html  # shown by portal.js where recording works
    assert '<span>‹ less open</span><span>more open ›</span>' in html


@pytest.mark.storage
@pytest.mark.django_db(transaction=True)
def test_on_s3_concurrent_first_requests_fetch_once_and_play_from_the_bucket(s3_media, engine_over_http, monkeypatch,
                                                                            client, alice):
    """Two "nodes" (threads with their own database connections) ask at once: the lease in
    the database lets one fetch; the engine renders once into its own prefix; the portal's
    copy is in the bucket and plays with Range."""
    rendered = []
    real = catalog_views.subprocess.run

    def counting(*args, **kwargs):
        rendered.append(args[0][-2])
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog_views.subprocess, "run", counting)
    names = []
    threads = [threading.Thread(target=lambda: names.append(voices.ensure_sample("sage"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rendered == ["sage"] and names == ["voices/sage.wav"] * 3
    s3 = s3_media.client()
    portal_copy = s3.get_object(Bucket=s3_media.bucket, Key="voices/sage.wav")["Body"].read()
    assert portal_copy[:4] == b"RIFF"
    assert s3.get_object(Bucket=s3_media.bucket, Key="engine/voices/sage.wav")["Body"].read() == portal_copy
    client.force_login(alice)
    part = client.get(reverse("jobs:voice_sample", args=["sage"]), HTTP_RANGE="bytes=0-43")
    assert part.status_code == 206 and body(part) == portal_copy[:44]
