"""The REST API's jobs over real HTTP (live server): the nine methods in JSON and
multipart, the create form's messages per field, team scoping, idempotency, actions,
downloads, and the History filters with keyset pages."""

import base64
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from api.models import ApiJob
from front.forms import CreateJobForm
from jobs.models import Job
from tests.front.create_support import mp4_bytes, png_bytes, wav_bytes

pytestmark = pytest.mark.django_db(transaction=True)

B64 = {"video_file": mp4_bytes, "image_file": png_bytes, "audio_file": wav_bytes}
NAMES = {"video_file": "clip.mp4", "image_file": "face.png", "audio_file": "speech.wav"}
VISUALS = {"video_url": {"video_url": "https://example.com/v.mp4"}, "video_file": {"video_file": None},
           "image_url": {"image_url": "https://example.com/p.jpg"}, "image_file": {"image_file": None},
           "character": {"character": "navtalk.Leo"}}
AUDIOS = {"audio_url": {"audio_url": "https://example.com/a.mp3"}, "audio_file": {"audio_file": None},
          "content": {"content": "Welcome to NavTalk.", "voice": "nova"}}
# NavTalk's nine methods: (visual options, audio option) -> expected (visual_type, audio_type).
NINE = [(v, a) for v in ("video", "image", "character") for a in ("audio_url", "audio_file", "content")]


def _body(visual: str, audio: str, *, multipart: bool):
    data, files = {"visual_source": visual, "audio_source": audio}, {}
    for option, inputs in ({**VISUALS[visual], **AUDIOS[audio]}).items():
        if inputs is None:  # a file
            if multipart:
                files[option] = (NAMES[option], B64[option]())
            else:
                data[option] = base64.b64encode(B64[option]()).decode()
                data[f"{option}_name"] = NAMES[option]
        else:
            data[option] = inputs
    return data, files


@pytest.mark.parametrize(("visual_kind", "audio"), NINE)
def test_each_of_the_nine_methods_is_created_from_json_and_from_multipart(
        api_for, alice, characters, media_root, visual_kind, audio):
    api = api_for(alice)
    visual = {"video": "video_file", "image": "image_url", "character": "character"}[visual_kind]
    for multipart in (False, True):
        data, files = _body(visual, audio, multipart=multipart)
        response = api.post("jobs/", files=files, data=data) if multipart else api.post("jobs/", json=data)
        assert response.status_code == 201, response.text
        body = response.json()
        job = Job.objects.get(code=body["id"])
        assert (job.visual_type, job.audio_type, job.created_by, job.status) == (
            visual_kind, {"audio_url": "audio_url", "audio_file": "audio_base64", "content": "content"}[audio],
            alice, "queued")
        assert body["method"] == job.method and body["status"] == "queued" and body["events"]
        if visual == "video_file":
            assert default_storage.open(job.visual_file.name).read() == mp4_bytes()
        if audio == "audio_file":
            assert job.audio_file.name.endswith(".wav")
        assert ApiJob.objects.get(job=job).token.user == alice  # attributed to the person's token


BAD_INPUTS = [
    {"visual_source": "video_url", "video_url": "ftp://example.com/v.mp4", "audio_source": "content",
     "content": "x" * 2001, "voice": "nobody"},
    {"visual_source": "image_url", "image_url": "http://127.0.0.1/p.jpg", "audio_source": "audio_url",
     "audio_url": "", "bbox_shift": "99", "parsing_mode": "soft"},
    {"visual_source": "character", "character": "navtalk.Nobody", "audio_source": "content", "content": ""},
    {"visual_source": "photo", "audio_source": "content", "content": "Hi", "voice": "nova", "extra_margin": "x"},
    {"audio_source": "content", "content": "Hi", "voice": "nova"},
]


@pytest.mark.parametrize("data", BAD_INPUTS)
def test_errors_are_keyed_by_field_with_the_create_forms_own_messages(api_for, alice, characters, data):
    response = api_for(alice).post("jobs/", json=data)
    assert response.status_code == 400
    form = CreateJobForm({**data}, {}, team=alice.teams.first())
    assert not form.is_valid()
    expected = {("non_field_errors" if k == "__all__" else k): list(v) for k, v in form.errors.items()}
    assert response.json() == {"errors": expected}
    assert Job.objects.count() == 0


def test_a_file_that_is_not_what_its_field_says_is_refused_by_content(api_for, alice):
    response = api_for(alice).post("jobs/", files={"image_file": ("face.png", b"GIF89a not a png")},
                                   data={"visual_source": "image_file", "audio_source": "content",
                                         "content": "Hi", "voice": "nova"})
    assert response.status_code == 400
    assert response.json()["errors"]["image_file"][0].startswith("“face.png” is not a JPG, PNG or WebP image")
    bad64 = api_for(alice).post("jobs/", json={"visual_source": "image_file", "image_file": "%%%"})
    assert bad64.json()["errors"]["image_file"] == ["Send the file's content as base64 text."]


def test_another_teams_jobs_are_not_found(api_for, alice, bob, make_job):
    theirs = make_job(bob)
    api = api_for(alice)
    for path in (f"jobs/{theirs.code}/", f"jobs/{theirs.code}/video/"):
        assert api.get(path).status_code == 404
    for path in (f"jobs/{theirs.code}/cancel/", f"jobs/{theirs.code}/duplicate/"):
        assert api.post(path, json={}).status_code == 404
    assert Job.objects.get(pk=theirs.pk).status == "queued"
    for path in (f"jobs/{theirs.code}/", "jobs/not-a-job-id/poster/"):
        assert api.get(path).json() == {"errors": {"non_field_errors": ["Not found in your team."]}}
    mine = make_job(alice)
    listed = api.get("jobs/").json()["results"]
    assert [j["id"] for j in listed] == [str(mine.code)]


def test_an_idempotency_key_makes_a_retried_create_return_the_first_job(api_for, alice, characters):
    api = api_for(alice)
    body = {"visual_source": "character", "character": "navtalk.Leo", "audio_source": "content",
            "content": "Hello there", "voice": "nova"}
    key = str(uuid.uuid4())
    first = api.post("jobs/", json=body, headers={"Idempotency-Key": key})
    again = api.post("jobs/", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("jobs/", json=body, headers={"Idempotency-Key": key + "-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert Job.objects.count() == 2


def test_job_limits_of_the_service_hold_through_the_api(api_for, alice, characters, settings):
    settings.JOB_RATE_PER_USER_PER_MINUTE = 1
    api = api_for(alice)
    body = {"visual_source": "character", "character": "navtalk.Leo", "audio_source": "content",
            "content": "Hello", "voice": "nova"}
    assert api.post("jobs/", json=body).status_code == 201
    refused = api.post("jobs/", json=body)
    assert refused.status_code == 429
    assert "per minute" in refused.json()["errors"]["non_field_errors"][0]
    assert Job.objects.count() == 1


def test_cancel_retry_and_duplicate_with_changes(api_for, alice, make_job, characters):
    api = api_for(alice)
    job = make_job(alice, status="queued")
    canceled = api.post(f"jobs/{job.code}/cancel/")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = api.post(f"jobs/{job.code}/cancel/")
    assert again.status_code == 409 and "status" in again.json()["errors"]
    retried = api.post(f"jobs/{job.code}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued" and retried.json()["attempt"] == 2
    copy = api.post(f"jobs/{job.code}/duplicate/", json={"audio_url": "https://example.com/new.mp3"})
    assert copy.status_code == 201, copy.text
    new = Job.objects.get(code=copy.json()["id"])
    assert (new.character_name, new.audio_type, new.audio_url, new.title) == (
        "navtalk.Leo", "audio_url", "https://example.com/new.mp3", "Hello (copy)")
    bad = api.post(f"jobs/{job.code}/duplicate/", json={"voice": "nobody"})
    assert bad.json() == {"errors": {"voice": ["Choose one of the listed voices."]}}


def test_the_archived_result_and_poster_download(api_for, alice, make_job, media_root):
    job = make_job(alice, status="done", archive_status="done", video_url="https://example.com/r.mp4")
    job.archive_file.save("r.mp4", ContentFile(b"MP4DATA"), save=False)
    job.poster_file.save("r.jpg", ContentFile(b"JPEGDATA"), save=True)
    api = api_for(alice)
    detail = api.get(f"jobs/{job.code}/").json()
    video = api.get(detail["result"]["video"])
    assert (video.status_code, video.content, video.headers["Content-Type"]) == (200, b"MP4DATA", "video/mp4")
    assert 'filename="hello.mp4"' in video.headers["Content-Disposition"]
    assert api.get(detail["result"]["poster"]).content == b"JPEGDATA"
    pending = make_job(alice, status="processing")
    assert api.get(f"jobs/{pending.code}/video/").status_code == 404


def test_list_filters_and_keyset_pages_match_history(api_for, alice, make_job):
    api = api_for(alice)
    jobs = [make_job(alice, title=f"Clip {i}", status="done" if i % 2 else "failed") for i in range(7)]
    seen, url = [], "jobs/?status=done&limit=2"
    while url:
        page = api.get(url).json()
        seen += [j["id"] for j in page["results"]]
        url = page["next"]
    assert seen == [str(j.code) for j in reversed(jobs) if j.status == "done"]
    assert api.get("jobs/?q=Clip 3").json()["results"][0]["title"] == "Clip 3"
    bad = api.get("jobs/?date_from=2026-05-02&date_to=2026-05-01&status=nope")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"status", "date_to"}


def test_characters_voices_and_usage(api_for, alice, characters, make_job):
    api = api_for(alice)
    assert "navtalk.Leo" in [c["name"] for c in api.get("characters/").json()]
    voices = api.get("voices/").json()
    assert {v["name"] for v in voices} >= {"nova"} and all(v["sample"].endswith("/sample/") for v in voices)
    make_job(alice)
    usage = api.get("usage/").json()
    assert (usage["user"], usage["team"], usage["jobs_last_24h"], usage["in_flight"]) == ("alice", "Acme", 1, 1)


def test_roles_hold_through_the_api(api_for, alice, make_job, django_user_model, characters):
    from accounts.models import Membership
    from accounts.permissions import REFUSALS

    team = alice.teams.first()
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=team, user=carol, role="viewer")
    viewer = api_for(carol)
    body = {"visual_source": "character", "character": "navtalk.Leo", "audio_source": "content",
            "content": "Hi", "voice": "nova"}
    refused = viewer.post("jobs/", json=body)
    assert refused.status_code == 403 and refused.json()["errors"]["non_field_errors"] == [REFUSALS["create_job"]]
    alices = make_job(alice)
    assert viewer.get(f"jobs/{alices.code}/").status_code == 200  # viewers watch
    Membership.objects.filter(user=carol).update(role="creator")
    creator = api_for(carol)
    assert creator.post("jobs/", json=body).status_code == 201
    assert creator.post(f"jobs/{alices.code}/cancel/").status_code == 403  # not carol's job
    assert Job.objects.get(pk=alices.pk).status == "queued"
