"""The create page refuses bad input beside the field and keeps everything entered:
missing or doubled sources, ranges, links, file content and size, render caps, links to
private hosts, repeated radios, kept uploads."""

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from jobs.models import Job
from keys.models import TeamKey
from keys.selection import key_for_team
from tests.front.create_support import (
    DEFAULT_SLIDERS,
    error_beside,
    input_tag,
    mp4_bytes,
    png,
    png_bytes,
    post,
    wav,
    wav_bytes,
)

# --- bad input: the message beside the field, and everything entered kept ------------------


@pytest.mark.django_db
def test_it_requires_a_visual_source_and_keeps_the_rest(logged_in):
    response = post(logged_in, audio_source="content", content="Keep this text", voice="sage", bbox_shift="4")
    assert Job.objects.count() == 0
    assert error_beside(response, "visual_source").startswith("Choose a face:")
    body = response.content.decode()
    assert "Keep this text</textarea>" in body
    assert "checked" in input_tag(response, "voice", "sage")
    assert "checked" in input_tag(response, "audio_source", "content")
    assert 'value="4"' in input_tag(response, "bbox_shift")


@pytest.mark.django_db
def test_it_refuses_two_visual_sources(logged_in):
    # No radio, two inputs filled: which one was meant is unknown.
    response = post(logged_in, video_url="https://example.com/v.mp4", image_url="https://example.com/p.jpg",
                    audio_source="audio_url", audio_url="https://example.com/a.mp3")
    assert error_beside(response, "visual_source") == "Choose only one face: you filled in video link and photo link."
    assert 'value="https://example.com/p.jpg"' in input_tag(response, "image_url")
    # Two radio values (a hand-made request).
    response = logged_in.post(reverse("jobs:create"), {
        **DEFAULT_SLIDERS, "visual_source": ["video_url", "image_url"], "video_url": "https://example.com/v.mp4",
        "image_url": "https://example.com/p.jpg", "audio_source": "audio_url",
        "audio_url": "https://example.com/a.mp3"})
    assert error_beside(response, "visual_source") == "Choose only one face."
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_requires_one_audio_source(logged_in):
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg")
    assert error_beside(response, "audio_source").startswith("Choose a voice:")
    assert 'value="https://example.com/p.jpg"' in input_tag(response, "image_url")
    assert "checked" in input_tag(response, "visual_source", "image_url")

    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_url="https://example.com/a.mp3", content="Hello", voice="nova")
    assert error_beside(response, "audio_source") == "Choose only one voice: you filled in audio link and type text."
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_infers_the_source_when_only_one_is_filled_without_a_radio(logged_in):
    response = post(logged_in, image_url="https://example.com/p.jpg", content="Hello", voice="nova")
    assert response.status_code == 302
    assert Job.objects.get().method == 4


@pytest.mark.django_db
def test_it_requires_a_voice_with_text(logged_in):
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="content", content="Words without a voice")
    assert error_beside(response, "voice") == "Choose a voice for the text."
    assert "Words without a voice</textarea>" in response.content.decode()
    assert 'aria-describedby="error-voice"' in input_tag(response, "voice", "nova")

    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="content", content="Hi", voice="robot")
    assert error_beside(response, "voice") == "Choose one of the listed voices."
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_requires_the_chosen_inputs(logged_in, leo):
    response = post(logged_in, visual_source="character", audio_source="audio_file")
    assert error_beside(response, "character") == "Choose a character."
    assert error_beside(response, "audio_file") == "Choose an audio file to upload."
    response = post(logged_in, visual_source="character", character="navtalk.Nobody", audio_source="content")
    assert error_beside(response, "character") == "That character is not available; choose another."
    assert error_beside(response, "content") == "Type the text to speak."
    leo.is_active = False
    leo.save()
    response = post(logged_in, visual_source="character", character="navtalk.Leo", audio_source="content",
                    content="Hi", voice="nova")
    assert error_beside(response, "character") == "That character is not available; choose another."
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name,value,message", [
    ("bbox_shift", "10", "Choose a value from -9 to 9."),
    ("bbox_shift", "-10", "Choose a value from -9 to 9."),
    ("extra_margin", "51", "Choose a value from 0 to 50."),
    ("left_cheek_width", "49", "Choose a value from 50 to 150."),
    ("right_cheek_width", "151", "Choose a value from 50 to 150."),
    ("right_cheek_width", "wide", "Enter a whole number."),
    ("parsing_mode", "chin", "Choose jaw or raw."),
])
def test_it_refuses_out_of_range_sliders(logged_in, name, value, message):
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="audio_url", audio_url="https://example.com/a.mp3", **{name: value})
    assert error_beside(response, name) == message
    assert Job.objects.count() == 0
    assert re.search(r"<details[^>]* open>", response.content.decode())  # the advanced section opens
    if name != "parsing_mode":
        assert f'value="{value}"' in input_tag(response, name)
        assert 'aria-invalid="true"' in input_tag(response, name)


@pytest.mark.django_db
@pytest.mark.parametrize("field,url", [
    ("video_url", "ftp://example.com/v.mp4"),
    ("image_url", "javascript:alert(1)"),
    ("audio_url", "file:///etc/passwd"),
    ("image_url", "example.com/p.jpg"),
])
def test_it_accepts_only_http_links(logged_in, field, url):
    sources = {"video_url": ("visual_source", "video_url"), "image_url": ("visual_source", "image_url"),
               "audio_url": ("audio_source", "audio_url")}
    data = {"visual_source": "image_url", "image_url": "https://example.com/p.jpg",
            "audio_source": "audio_url", "audio_url": "https://example.com/a.mp3"}
    radio, option = sources[field]
    data.update({radio: option, field: url})
    response = post(logged_in, **data)
    assert error_beside(response, field) == "Enter a web link starting with http:// or https://."
    assert f'value="{html.escape(url)}"' in input_tag(response, field)
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_checks_file_content_not_name(logged_in):
    fake = SimpleUploadedFile("face.png", b"hello, I am just text\n", content_type="image/png")
    response = post(logged_in, visual_source="image_file", image_file=fake, audio_source="audio_url",
                    audio_url="https://example.com/a.mp3")
    assert error_beside(response, "image_file") == (
        "“face.png” is not a JPG, PNG or WebP image (its content looks like plain text). Choose another file.")
    assert "choose the file again" in response.content.decode()
    assert 'value="https://example.com/a.mp3"' in input_tag(response, "audio_url")

    # The right magic bytes but no real image behind them: Pillow says no.
    broken = SimpleUploadedFile("face.png", png_bytes()[:40] + b"\x00" * 64, content_type="image/png")
    response = post(logged_in, visual_source="image_file", image_file=broken, audio_source="audio_url",
                    audio_url="https://example.com/a.mp3")
    assert error_beside(response, "image_file") == (
        "“face.png” could not be read as a JPG, PNG or WebP image. Choose another file.")

    # A WAV named .mp4 is not a video; a PNG named .wav is not audio.
    response = post(logged_in, visual_source="video_file", video_file=SimpleUploadedFile("clip.mp4", wav_bytes()),
                    audio_source="audio_file", audio_file=SimpleUploadedFile("voice.wav", png_bytes()))
    assert "is not an MP4 or MOV video (its content looks like WAV)" in error_beside(response, "video_file")
    assert "is not an MP3 or WAV audio file (its content looks like PNG)" in error_beside(response, "audio_file")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_enforces_size_limits(logged_in, settings):
    settings.UPLOAD_MAX_AUDIO_MB = 0  # everything is too large
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="audio_file", audio_file=wav("long.wav"))
    assert error_beside(response, "audio_file").startswith("“long.wav” is 0.0 MB; the limit is 0 MB.")
    assert Job.objects.count() == 0
    settings.UPLOAD_MAX_AUDIO_MB = 1
    assert post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                audio_source="audio_file", audio_file=wav("long.wav")).status_code == 302


@pytest.mark.django_db
def test_it_limits_the_text(logged_in, settings):
    settings.TEXT_MAX_CHARS = 10
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="content", content="This is far too long", voice="nova")
    assert error_beside(response, "content") == (
        "The text has 20 characters, 10 over the limit of 10. Shorten it, or split it into several videos. "
        "Nothing was cut: your text is still here.")
    html = response.content.decode()
    assert "This is far too long</textarea>" in html
    # No maxlength on the text box: a browser would cut a longer paste silently.
    textarea = re.search(r"<textarea[^>]*name=\"content\"[^>]*>", html).group(0)
    assert "maxlength" not in textarea and 'data-max-chars="10"' in textarea
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_keeps_a_valid_file_after_another_error(logged_in, media_root):
    response = post(logged_in, visual_source="image_file", image_file=png("me.png"), audio_source="content",
                    content="Hi")
    assert error_beside(response, "voice") == "Choose a voice for the text."
    assert error_beside(response, "image_file") is None
    assert "“me.png” is kept: you do not need to choose it again. Choose a file only to use a different " \
           "one." in html.unescape(response.content.decode())


@pytest.mark.django_db
def test_it_refuses_without_an_active_license_key(logged_in, alice):
    team = alice.teams.get()
    key = key_for_team(team)
    key.is_active = False
    key.save()
    response = logged_in.get(reverse("jobs:create"))
    assert "Your team has no active license key" in response.content.decode()
    assert re.search(r'<button type="submit"[^>]*disabled', response.content.decode())

    TeamKey.objects.filter(team=team).delete()
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="audio_url", audio_url="https://example.com/a.mp3")
    assert response.status_code == 200
    assert "no active license key, so no video can be made yet" in response.content.decode()
    assert 'value="https://example.com/p.jpg"' in input_tag(response, "image_url")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_warns_when_the_upstream_cannot_fetch_uploads(logged_in, alice, settings):
    key = key_for_team(alice.teams.get())
    key.generate_url = "http://93.184.216.34/generate"  # a public address; PUBLIC_BASE_URL is loopback
    key.save()
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    body = logged_in.get(reverse("jobs:create")).content.decode()
    assert "Uploads may not reach the video service." in body
    assert "a private address it cannot reach" in body


@pytest.mark.django_db
def test_it_opens_the_advanced_section_when_values_were_moved(logged_in):
    response = post(logged_in, visual_source="image_url", image_url="", audio_source="audio_url",
                    audio_url="https://example.com/a.mp3", extra_margin="25")
    assert error_beside(response, "image_url") == "Enter the link to the photo."
    assert re.search(r"<details[^>]* open>", response.content.decode())
    assert 'value="25"' in input_tag(response, "extra_margin")
    response = post(logged_in, visual_source="image_url", image_url="", audio_source="audio_url",
                    audio_url="https://example.com/a.mp3")
    assert not re.search(r"<details[^>]* open>", response.content.decode())


# --- render caps, checked at upload by content (lib.mediacaps) -----------------------------


def _png(width, height) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@pytest.mark.django_db
def test_it_refuses_a_picture_over_the_pixel_cap_beside_the_field(logged_in, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 40_000_000
    bomb = SimpleUploadedFile("bomb.png", _png(13000, 13000), content_type="image/png")  # ~170 MP, tiny file
    response = post(logged_in, visual_source="image_file", image_file=bomb, audio_source="audio_url",
                    audio_url="https://example.com/a.mp3")
    assert "the limit is 40.0 MP" in error_beside(response, "image_file")
    assert 'value="https://example.com/a.mp3"' in input_tag(response, "audio_url")
    big = SimpleUploadedFile("big.png", _png(8000, 6000), content_type="image/png")  # 48 MP
    response = post(logged_in, visual_source="image_file", image_file=big, audio_source="audio_url",
                    audio_url="https://example.com/a.mp3")
    assert error_beside(response, "image_file") == (
        "“big.png”: The picture is 8000×6000 px (48.0 MP); the limit is 40.0 MP. Use a smaller picture.")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_video_over_the_resolution_or_duration_cap(logged_in, settings, leo):
    settings.MEDIA_MAX_VIDEO_PIXELS = 64 * 48
    settings.MEDIA_MAX_VIDEO_SECONDS = 1
    wide = SimpleUploadedFile("wide.mp4", mp4_bytes(width=128), content_type="video/mp4")
    response = post(logged_in, visual_source="video_file", video_file=wide, audio_source="content",
                    content="Hi", voice="ash")
    assert "The video is 128×48 px" in error_beside(response, "video_file")
    long = SimpleUploadedFile("long.mp4", mp4_bytes(frames=50), content_type="video/mp4")
    response = post(logged_in, visual_source="video_file", video_file=long, audio_source="content",
                    content="Hi", voice="ash")
    assert "The video is 2 s long; the limit is 1 s." in error_beside(response, "video_file")
    fake = SimpleUploadedFile("fake.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 512)
    response = post(logged_in, visual_source="video_file", video_file=fake, audio_source="content",
                    content="Hi", voice="ash")
    assert "The video could not be read" in error_beside(response, "video_file")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_audio_over_the_duration_cap(logged_in, settings):
    settings.MEDIA_MAX_AUDIO_SECONDS = 0.05  # wav_bytes() is 0.1 s
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="audio_file", audio_file=wav("long.wav"))
    assert "“long.wav”: The audio is 0 s long; the limit is 0.05 s" in error_beside(response, "audio_file")
    assert Job.objects.count() == 0


# --- hostile input: links to private hosts, broken links, repeated radios ------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/face.jpg", "http://localhost/face.jpg", "http://[::1]/a.jpg",
                                 "http://0.0.0.0/a.jpg", "http://[::ffff:10.0.0.1]/a.jpg", "http://169.254.169.254/x"])
def test_it_refuses_a_link_to_a_private_host_beside_the_field(logged_in, url):
    response = post(logged_in, visual_source="image_url", image_url=url, audio_source="content", content="Hi",
                    voice="ash")
    assert response.status_code == 200
    assert "private or local address" in error_beside(response, "image_url")
    assert f'value="{html.escape(url)}"' in input_tag(response, "image_url")
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("url,words", [("http://[::1/x", "Enter a web link"), ("http://good@127.0.0.1/x", "user name"),
                                       ("http://example.com:99999/a.jpg", "")])
def test_it_explains_a_broken_link_instead_of_failing(logged_in, url, words):
    response = post(logged_in, visual_source="image_url", image_url=url, audio_source="content", content="Hi",
                    voice="ash")
    assert response.status_code == 200
    assert words in error_beside(response, "image_url")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_a_repeated_radio_is_read_as_its_one_value_not_a_server_error(logged_in, leo):
    body = ("visual_source=image_url&visual_source=&image_url=https://example.com/a.jpg"
            "&audio_source=content&audio_source=&content=Hi&voice=ash")
    response = logged_in.post(reverse("jobs:create"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.visual_url, job.content) == ("https://example.com/a.jpg", "Hi")
    body = "visual_source=nonsense&visual_source=&audio_source=content&content=Hi&voice=ash"
    response = logged_in.post(reverse("jobs:create"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and error_beside(response, "visual_source")


@pytest.mark.django_db
def test_a_rejected_form_keeps_an_upload_that_passed_so_it_is_never_chosen_twice(logged_in, alice, media_root):
    """The newcomer had to choose a valid photo again after an audio error."""
    first = post(logged_in, visual_source="image_file", image_file=png("face.png"), audio_source="audio_url",
                 audio_url="")  # the audio link is missing: rejected
    page = first.content.decode()
    assert first.status_code == 200 and error_beside(first, "audio_url")
    assert "“face.png” is kept: you do not need to choose it again." in html.unescape(page)
    token = re.search(r'name="kept_image_file" value="([^"]+)"', page).group(1)
    assert Job.objects.count() == 0

    second = post(logged_in, visual_source="image_file", audio_source="audio_url",
                  audio_url="https://example.com/a.mp3", kept_image_file=token)  # no file chosen this time
    assert second.status_code == 302
    job = Job.objects.get()
    assert job.visual_file.name.startswith("uploads/") and job.visual_file.read()[:8] == png_bytes()[:8]


@pytest.mark.django_db
def test_a_kept_upload_token_works_only_for_the_person_it_was_made_for(client, alice, bob, media_root):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from front.job_inputs import kept_token

    name = default_storage.save("uploads/kept.png", ContentFile(png_bytes()))
    client.force_login(bob)
    response = post(client, visual_source="image_file", audio_source="audio_url",
                    audio_url="https://example.com/a.mp3", kept_image_file=kept_token(name, alice.pk, "image_file"))
    assert response.status_code == 200 and error_beside(response, "image_file") == "Choose a photo to upload."
    assert Job.objects.count() == 0
