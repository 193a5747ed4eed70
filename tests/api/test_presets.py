"""Presets in the API: listed per team, and a job started from one (with an uploaded face
too) with the request's own values on top."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from automation.models import Preset
from jobs.models import Job
from tests.front.create_support import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_presets_are_listed_per_team_and_start_jobs(api_for, alice, bob, characters, media_root):
    team = alice.teams.first()
    face = default_storage.save("uploads/face.png", ContentFile(png_bytes()))
    photo = Preset.objects.create(team=team, name="Photo", visual_type="image", visual_file=face, voice="coral",
                                  params={"extra_margin": 25}, created_by=alice)
    leo = Preset.objects.create(team=team, name="Leo", visual_type="character", character_name="navtalk.Leo")
    Preset.objects.create(team=bob.teams.first(), name="Globex", visual_type="character",
                          character_name="navtalk.Leo")
    api = api_for(alice)
    listed = api.get("presets/").json()
    assert [(p["name"], p["uploaded_face"]) for p in listed] == [("Leo", False), ("Photo", True)]
    made = api.post("jobs/", json={"preset": photo.pk, "content": "Hello from a preset"})
    assert made.status_code == 201, made.text
    job = Job.objects.get(code=made.json()["id"])
    assert (job.visual_type, job.visual_file.name, job.voice, job.content, job.params) == (
        "image", face, "coral", "Hello from a preset", {"extra_margin": 25})
    changed = api.post("jobs/", json={"preset": leo.pk, "audio_url": "https://example.com/a.mp3"})
    assert changed.status_code == 201, changed.text
    assert Job.objects.get(code=changed.json()["id"]).audio_url == "https://example.com/a.mp3"
    theirs = Preset.objects.get(name="Globex")
    refused = api.post("jobs/", json={"preset": theirs.pk, "content": "Hi", "voice": "nova"})
    assert refused.status_code == 400
    assert refused.json()["errors"]["preset"] == ["Choose one of your team's presets (see /api/v1/presets/)."]
