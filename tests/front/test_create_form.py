"""The create page: the nine methods, names and defaults, the page itself (bad input is
in test_create_errors.py)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import Job, JobEvent
from keys.selection import key_for_team
from tests.front.create_support import input_tag, mp4, mp4_bytes, png, png_bytes, post, wav, wav_bytes

# --- the nine methods --------------------------------------------------------------------


NINE = {
    1: (dict(visual_source="video_url", video_url="https://example.com/v.mp4",
             audio_source="audio_url", audio_url="https://example.com/a.mp3"),
        dict(visual_type="video", visual_url="https://example.com/v.mp4", audio_type="audio_url",
             audio_url="https://example.com/a.mp3")),
    2: (dict(visual_source="video_file", video_file=mp4, audio_source="audio_file", audio_file=wav),
        dict(visual_type="video", audio_type="audio_base64")),
    3: (dict(visual_source="video_url", video_url="http://example.com/v.mov", audio_source="content",
             content="Welcome to NavTalk.", voice="nova"),
        dict(visual_type="video", visual_url="http://example.com/v.mov", audio_type="content",
             content="Welcome to NavTalk.", voice="nova")),
    4: (dict(visual_source="image_file", image_file=png, audio_source="content", content="Hello there", voice="echo"),
        dict(visual_type="image", audio_type="content", content="Hello there", voice="echo")),
    5: (dict(visual_source="image_url", image_url="https://example.com/p.jpg", audio_source="audio_url",
             audio_url="https://example.com/a.wav"),
        dict(visual_type="image", visual_url="https://example.com/p.jpg", audio_type="audio_url",
             audio_url="https://example.com/a.wav")),
    6: (dict(visual_source="image_file", image_file=png, audio_source="audio_file", audio_file=wav),
        dict(visual_type="image", audio_type="audio_base64")),
    7: (dict(visual_source="character", character="navtalk.Leo", audio_source="audio_url",
             audio_url="https://example.com/a.mp3"),
        dict(visual_type="character", character_name="navtalk.Leo", audio_type="audio_url",
             audio_url="https://example.com/a.mp3")),
    8: (dict(visual_source="character", character="navtalk.Leo", audio_source="audio_file", audio_file=wav),
        dict(visual_type="character", character_name="navtalk.Leo", audio_type="audio_base64")),
    9: (dict(visual_source="character", character="navtalk.Leo", audio_source="content",
             content="Welcome to NavTalk.", voice="fable"),
        dict(visual_type="character", character_name="navtalk.Leo", audio_type="content",
             content="Welcome to NavTalk.", voice="fable")),
}


@pytest.mark.django_db
@pytest.mark.parametrize("method", range(1, 10))
def test_it_creates_a_job_for_each_method(logged_in, alice, leo, method):
    data, expected = NINE[method]
    data = {k: v() if callable(v) else v for k, v in data.items()}
    response = post(logged_in, **data)

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.code])
    assert job.method == method
    for field, value in expected.items():
        assert getattr(job, field) == value, field
    assert (job.team, job.created_by, job.license_key) == (alice.teams.get(), alice, key_for_team(alice.teams.get()))
    assert job.status == Job.Status.QUEUED and job.params == {}
    assert JobEvent.objects.filter(job=job, to_status="queued").count() == 1
    if "video_file" in data:
        assert job.visual_file.name.startswith("uploads/") and job.visual_file.name.endswith(".mp4")
        assert job.visual_file.read() == mp4_bytes()
    if "image_file" in data:
        assert job.visual_file.name.endswith(".png") and job.visual_file.read() == png_bytes()
    if "audio_file" in data:
        assert job.audio_file.name.endswith(".wav") and job.audio_file.read() == wav_bytes()
    else:
        assert not job.audio_file


@pytest.mark.django_db
def test_it_stores_only_moved_advanced_values(logged_in, leo):
    post(logged_in, visual_source="character", character="navtalk.Leo", audio_source="content",
         content="Hi", voice="nova", bbox_shift="-3", extra_margin="10", parsing_mode="raw",
         left_cheek_width="90", right_cheek_width="150")
    assert Job.objects.get().params == {"bbox_shift": -3, "parsing_mode": "raw", "right_cheek_width": 150}


@pytest.mark.django_db
def test_it_treats_absent_sliders_as_defaults(logged_in, leo):
    logged_in.post(reverse("jobs:create"), {"visual_source": "character", "character": "navtalk.Leo",
                                            "audio_source": "content", "content": "Hi", "voice": "nova"})
    assert Job.objects.get().params == {}


@pytest.mark.django_db
def test_it_names_the_job_from_text_file_or_character(logged_in, leo):
    post(logged_in, visual_source="character", character="navtalk.Leo", audio_source="content",
         content="One two three four five six seven eight nine ten", voice="nova")
    post(logged_in, visual_source="image_file", image_file=png("Team photo.png"), audio_source="audio_url",
         audio_url="https://example.com/a.mp3")
    post(logged_in, visual_source="character", character="navtalk.Leo", audio_source="audio_url",
         audio_url="https://example.com/a.mp3")
    post(logged_in, visual_source="character", character="navtalk.Leo", audio_source="audio_url",
         audio_url="https://example.com/a.mp3", title="My own title")
    titles = list(Job.objects.order_by("id").values_list("title", flat=True))
    assert titles == ["One two three four five six seven eight…", "Team photo", "Leo", "My own title"]


@pytest.mark.django_db
def test_it_ignores_the_inputs_of_options_not_chosen(logged_in):
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    video_url="ftp://not-counted", image_file=SimpleUploadedFile("x.png", b"not an image"),
                    audio_source="audio_url", audio_url="https://example.com/a.mp3", content="ignored", voice="bogus")
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.visual_url, job.content, job.voice) == ("https://example.com/p.jpg", "", "")
    assert not job.visual_file


@pytest.mark.django_db
def test_it_shows_the_create_page_with_characters_voices_and_summary(logged_in, leo):
    response = logged_in.get(reverse("jobs:create"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="navtalk.Leo"' in body and "Friendly host" in body
    assert all(f'name="voice" value="{voice}"' in body for voice in Job.VOICES)
    assert "Calm, measured male voice." in body
    assert "Built-in character + typed text" in body
    assert '"image_url:audio_url": "Photo + audio link"' in body  # the JS summary map
    assert "<details" in body and "open" not in re.search(r"<details[^>]*>", body).group(0)
    assert 'type="range"' in input_tag(response, "bbox_shift")


