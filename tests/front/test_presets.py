"""Presets: saved from a job or from the create form (everything typed kept), chosen on the
create page, scoped to the team, deleted by their maker or an admin."""

import re

import pytest
from django.core.files.storage import default_storage

from automation.models import Preset
from jobs.models import Job
from tests.front.create_support import DEFAULT_SLIDERS, png, png_bytes


def hidden(response, name):
    match = re.search(rf'name="{name}" value="([^"]+)"', response.content.decode())
    return match.group(1) if match else None


def test_a_preset_saved_from_a_job_starts_the_create_form(logged_in, alice, make_job, characters):
    job = make_job(alice, params={"bbox_shift": 5}, voice="coral")
    answer = logged_in.post(f"/jobs/{job.code}/preset/", {"preset_name": "Leo friendly", "preset_description": "x"})
    assert answer.status_code == 302
    preset = Preset.objects.get()
    assert (preset.name, preset.visual_type, preset.character_name, preset.voice, preset.params, preset.created_by) \
        == ("Leo friendly", "character", "navtalk.Leo", "coral", {"bbox_shift": 5}, alice)
    page = logged_in.get("/")
    assert f'<option value="{preset.pk}">Leo friendly — x</option>' in page.content.decode()
    started = logged_in.get(f"/?preset={preset.pk}")
    initial = started.context["form"].initial
    assert (initial["visual_source"], initial["character"], initial["voice"], initial["bbox_shift"],
            initial["audio_source"]) == ("character", "navtalk.Leo", "coral", "5", "content")
    again = logged_in.post(f"/jobs/{job.code}/preset/", {"preset_name": "Leo friendly"}, follow=True)
    assert "already has a preset named “Leo friendly”" in again.content.decode() and Preset.objects.count() == 1


def test_save_as_preset_from_the_form_keeps_what_was_typed_and_the_file(logged_in, alice, media_root):
    data = {**DEFAULT_SLIDERS, "extra_margin": "20", "visual_source": "image_file", "image_file": png("me.png"),
            "audio_source": "content", "content": "My words stay here", "voice": "ash", "title": "Draft",
            "preset_name": "My face", "preset_description": "office light"}
    page = logged_in.post("/presets/save/", data)
    assert page.status_code == 200
    preset = Preset.objects.get()
    assert (preset.visual_type, preset.voice, preset.params, preset.description) == (
        "image", "ash", {"extra_margin": 20}, "office light")
    assert preset.visual_file.startswith("uploads/") and default_storage.open(preset.visual_file).read() == png_bytes()
    body = page.content.decode()
    assert "My words stay here" in body and 'value="Draft"' in body and "“My face” saved" in body
    token = hidden(page, "kept_image_file")
    assert token and not Job.objects.exists()
    created = logged_in.post("/", {**DEFAULT_SLIDERS, "visual_source": "image_file", "kept_image_file": token,
                                   "audio_source": "content", "content": "Go", "voice": "ash"})
    assert created.status_code == 302
    assert Job.objects.get().visual_file.name == preset.visual_file


def test_a_preset_with_a_bad_face_is_not_saved_and_says_why_beside_the_field(logged_in, alice):
    page = logged_in.post("/presets/save/", {**DEFAULT_SLIDERS, "visual_source": "image_url",
                                             "image_url": "ftp://example.com/x.jpg", "audio_source": "content",
                                             "content": "Kept text", "preset_name": "Bad"})
    body = page.content.decode()
    assert not Preset.objects.exists()
    assert 'id="error-image_url">Enter a web link starting with http:// or https://.' in body
    assert "The preset was not saved" in body and "Kept text" in body


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_presets_belong_to_their_team_and_their_maker(client, alice, bob, django_user_model, who):
    from accounts.models import Membership

    preset = Preset.objects.create(team=alice.teams.first(), name="Acme face", visual_type="character",
                                   character_name="navtalk.Leo", created_by=alice)
    if who == "bob":
        client.force_login(bob)
        assert client.get(f"/?preset={preset.pk}").status_code == 404
        assert "Acme face" not in client.get("/presets/").content.decode()
        assert client.post(f"/presets/{preset.pk}/delete/").status_code == 404
    else:
        carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
        Membership.objects.create(team=alice.teams.first(), user=carol, role="creator")
        client.force_login(carol)
        assert "Acme face" in client.get("/presets/").content.decode()
        client.post(f"/presets/{preset.pk}/delete/")
        assert Preset.objects.filter(pk=preset.pk).exists()  # not carol's, and she is no admin
        client.force_login(alice)
        client.post(f"/presets/{preset.pk}/delete/")
        assert not Preset.objects.filter(pk=preset.pk).exists()
