"""The engine's /generate over real HTTP: the nine combinations, the parameters, and
every way a request can be refused, with a message per field."""

import base64
import json
import uuid

import pytest

from engine import validate as contract
from engine.models import EngineTask, fingerprint
from tests.engine.api_support import ALICE, LEO, _without, b64, wav_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


# --- the nine combinations -----------------------------------------------------------

VISUALS = {"video_url": "https://example.com/video.mp4", "image_url": "https://example.com/photo.jpg",
           "character_name": LEO}
AUDIOS = {"audio_url": {"audio_url": "https://example.com/audio.mp3"},
          "audio_base64": {"audio_base64": b64(wav_bytes())},
          "content": {"content": "Welcome to NavTalk.", "voice": "nova"}}


@pytest.mark.parametrize("visual", VISUALS)
@pytest.mark.parametrize("audio", AUDIOS)
def test_it_accepts_each_of_the_nine_combinations(api, visual, audio):
    response = api.generate(**{visual: VISUALS[visual]}, **AUDIOS[audio])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "started"
    task = EngineTask.objects.get(pk=uuid.UUID(body["task_id"]))
    assert task.license_fingerprint == fingerprint(ALICE)
    assert task.request[visual] == VISUALS[visual]
    assert "license" not in task.request
    assert ALICE not in json.dumps(task.request)
    if audio == "audio_base64":
        assert task.request["audio_base64"] == {"kind": "wav", "bytes": len(wav_bytes())}


def test_it_accepts_the_advanced_parameters_at_their_limits(api):
    for low_high in (dict(bbox_shift=-9, extra_margin=0, left_cheek_width=50, right_cheek_width=50,
                          parsing_mode="raw"),
                     dict(bbox_shift=9, extra_margin=50, left_cheek_width=150, right_cheek_width=150,
                          parsing_mode="jaw")):
        response = api.generate(character_name=LEO, content="Hi.", voice="ash", **low_high)
        assert response.status_code == 200, response.text
        task = EngineTask.objects.get(pk=response.json()["task_id"])
        assert {k: task.request[k] for k in low_high} == low_high


def test_it_accepts_a_whole_float_and_any_voice_case(api):
    response = api.generate(character_name="NAVTALK.leo", content="Hi.", voice="Shimmer", bbox_shift=3.0)
    assert response.status_code == 200, response.text
    task = EngineTask.objects.get(pk=response.json()["task_id"])
    assert task.request == {"character_name": LEO, "content": "Hi.", "voice": "shimmer", "bbox_shift": 3}


@pytest.mark.parametrize("voice", contract.VOICES)
def test_it_accepts_every_voice(api, voice):
    assert api.generate(character_name=LEO, content="Hi.", voice=voice).status_code == 200


# --- validation ------------------------------------------------------------------------



INVALID = [
    ("no visual", _without("character_name"), "visual", "Give one visual source: video_url, image_url or character_name"),
    ("two visuals", _without(image_url="https://example.com/a.jpg"), "visual",
     "Give only one visual source, not image_url and character_name"),
    ("three visuals", _without(image_url="https://e.com/a.jpg", video_url="https://e.com/v.mp4"), "visual",
     "Give only one visual source, not video_url and image_url and character_name"),
    ("no audio", _without("content", "voice"), "audio", "Give one audio source"),
    ("two audios", _without(audio_url="https://example.com/a.mp3"), "audio",
     "Give only one audio source, not audio_url and content"),
    ("content without voice", _without("voice"), "voice", "voice is required with content. Choose one of: alloy"),
    ("voice without content", _without("content", audio_url="https://example.com/a.mp3"), "voice",
     "voice is only used with content"),
    ("unknown voice", _without(voice="robot"), "voice", "Unknown voice 'robot'. Choose one of: alloy, ash"),
    ("unknown character", _without(character_name="navtalk.Nobody"), "character_name",
     "Unknown character 'navtalk.Nobody'. Available characters: navtalk.Leo"),
    ("bbox_shift too big", _without(bbox_shift=10), "bbox_shift", "bbox_shift must be a whole number from -9 to 9 (got 10)"),
    ("bbox_shift too small", _without(bbox_shift=-10), "bbox_shift", "from -9 to 9 (got -10)"),
    ("bbox_shift fraction", _without(bbox_shift=1.5), "bbox_shift", "must be a whole number"),
    ("bbox_shift string", _without(bbox_shift="3"), "bbox_shift", "must be a whole number"),
    ("bbox_shift bool", _without(bbox_shift=True), "bbox_shift", "must be a whole number"),
    ("extra_margin too big", _without(extra_margin=51), "extra_margin", "extra_margin must be a whole number from 0 to 50"),
    ("extra_margin negative", _without(extra_margin=-1), "extra_margin", "from 0 to 50 (got -1)"),
    ("parsing_mode", _without(parsing_mode="chin"), "parsing_mode", "parsing_mode must be \"jaw\" or \"raw\" (got 'chin')"),
    ("left cheek low", _without(left_cheek_width=49), "left_cheek_width", "left_cheek_width must be a whole number from 50 to 150"),
    ("right cheek high", _without(right_cheek_width=151), "right_cheek_width", "from 50 to 150 (got 151)"),
    ("ftp url", _without("character_name", image_url="ftp://example.com/a.jpg"), "image_url",
     "image_url must start with http:// or https://"),
    ("file url", _without("character_name", video_url="file:///etc/passwd"), "video_url",
     "video_url must start with http:// or https://"),
    ("url without scheme", _without("content", "voice", audio_url="example.com/a.mp3"), "audio_url",
     "audio_url must start with http:// or https://"),
    ("url without host", _without("character_name", image_url="https:///a.jpg"), "image_url", "has no host name"),
    ("url not a string", _without("character_name", image_url=["https://e.com/a.jpg"]), "image_url",
     "image_url must be a string"),
    ("bad base64", _without("content", "voice", audio_base64="not base64!!"), "audio_base64",
     "audio_base64 is not valid base64"),
    ("base64 not audio", _without("content", "voice", audio_base64=b64(b"hello, this is plain text")), "audio_base64",
     "does not decode to a known audio file (WAV, MP3, OGG, FLAC or M4A)"),
    ("content too long", _without(content="x" * 5001), "content", "content is 5001 characters; the limit is 5000"),
    ("content blank", _without(content="   "), "content", "content must be the text to speak"),
    ("unknown field", _without(audioUrl="https://e.com/a.mp3"), "audioUrl", "Unknown field. Accepted fields: license"),
]


@pytest.mark.parametrize("name,body,field,message", INVALID, ids=[case[0] for case in INVALID])
def test_it_refuses_invalid_requests_with_a_message(api, name, body, field, message):
    response = api.generate(body={"license": ALICE, **body})

    assert response.status_code == 400, response.text
    reply = response.json()
    assert reply["status"] == "error"
    assert message in reply["errors"][field]
    assert message in reply["message"]
    assert EngineTask.objects.count() == 0


def test_it_lists_every_problem_at_once(api):
    reply = api.generate(character_name=LEO, content="Hi.", voice="robot", bbox_shift=99).json()
    assert set(reply["errors"]) == {"voice", "bbox_shift"}
    assert reply["message"].startswith("The request has 2 problems:")


def test_it_refuses_a_body_that_is_not_json(api):
    response = api.generate(raw=b"license=sk-x&character_name=navtalk.Leo")
    assert response.status_code == 400
    assert "must be JSON" in response.json()["message"]

    response = api.generate(raw=b'["a", "list"]')
    assert response.status_code == 400
    assert response.json()["message"] == "The request body must be a JSON object."


def test_it_answers_405_to_other_methods(api):
    response = api.session.get(api.base + "/generate")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("data,kind", [
    (wav_bytes(), "wav"), (b"ID3\x04\x00" + b"\x00" * 20, "mp3"), (b"\xff\xfb\x90\x64" + b"\x00" * 20, "mp3"),
    (b"OggS\x00\x02" + b"\x00" * 20, "ogg"), (b"fLaC\x00\x00\x00\x22" + b"\x00" * 20, "flac"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 20, "m4a"),
])
def test_it_accepts_base64_audio_of_each_container(api, data, kind):
    assert contract.audio_kind(data) == kind
    response = api.generate(character_name=LEO, audio_base64=b64(data))
    assert response.status_code == 200, response.text
    assert EngineTask.objects.get(pk=response.json()["task_id"]).request["audio_base64"]["kind"] == kind


def test_it_recognises_non_audio_bytes():
    for data in (b"", b"\x89PNG\r\n\x1a\n", b"<html>", b"\xff\xd8\xff\xe0JFIF", b"RIFF\x00\x00\x00\x00AVI "):
        assert contract.audio_kind(data) is None


def test_it_decodes_data_urls_and_urlsafe_base64():
    data = wav_bytes(0.01)
    assert contract.decode_base64_audio("data:audio/wav;base64," + b64(data)) == data
    assert contract.decode_base64_audio(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data
