"""Job detail, live status fragment, history, gallery, retry / cancel / duplicate."""

import datetime as dt
import html as html_lib
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from jobs import services
from jobs.models import Job, JobEvent
from keys.selection import key_for_team
from tests.front.create_support import DEFAULT_SLIDERS, error_beside, input_tag, png_bytes, wav_bytes

S = Job.Status


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


def body(response) -> str:
    return response.content.decode()


# --- detail and status ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_a_job_in_flight_with_a_poller(logged_in, alice, make_job):
    job = make_job(alice, title="Hello world", status=S.PROCESSING, params={"bbox_shift": 3})
    JobEvent.objects.create(job=job, to_status="queued", message="Created by alice")
    JobEvent.objects.create(job=job, from_status="started", to_status="processing", message="Rendering")
    response = logged_in.get(reverse("jobs:detail", args=[job.code]))
    html = body(response)
    assert response.status_code == 200
    assert f'data-status-url="/jobs/{job.code}/status/"' in html
    assert 'data-in-flight="true"' in html
    assert 'aria-live="polite"' in html and "<noscript>" in html and ">refresh</a>" in html
    assert "Built-in character + typed text" in html
    assert "Welcome to NavTalk." in html and "Nova" in html and "Bright, energetic female voice." in html
    assert "bbox_shift = 3" in html
    assert "Acme key" in html and "sk-…CRET" in html  # name and masked hint, never the secret
    assert "Created by alice" in html and "Rendering" in html
    assert f'action="/jobs/{job.code}/cancel/"' in html and f'action="/jobs/{job.code}/retry/"' not in html
    assert "Elapsed" in html and "<video" not in html


@pytest.mark.django_db
def test_it_shows_the_video_when_done(logged_in, alice, make_job):
    job = make_job(alice, status=S.DONE, video_url="https://cdn.example.com/out.mp4",
                   finished_at=timezone.now())
    html = body(logged_in.get(reverse("jobs:detail", args=[job.code])))
    assert '<video class="player" controls playsinline preload="metadata" src="https://cdn.example.com/out.mp4"' in html
    assert 'href="https://cdn.example.com/out.mp4" download' in html
    assert 'data-in-flight="false"' in html and "Took" in html
    assert "/cancel/" not in html and "/retry/" not in html
    assert f'href="/jobs/{job.code}/duplicate/"' in html


@pytest.mark.django_db
def test_it_never_links_a_non_http_video_url(logged_in, alice, make_job):
    job = make_job(alice, status=S.DONE, video_url="javascript:alert(1)")
    html = body(logged_in.get(reverse("jobs:detail", args=[job.code])))
    assert "javascript:alert" not in html
    assert "gave no usable video link" in html


@pytest.mark.django_db
def test_it_explains_a_failure(logged_in, alice, make_job):
    job = make_job(alice, status=S.FAILED, error_category="face_not_found", visual_type="image",
                   error_message="No face detected in frame 0", upstream_reply={"status": "failed", "code": "x"})
    html = body(logged_in.get(reverse("jobs:detail", args=[job.code])))
    assert "No face could be found." in html and "The video service said: “No face detected in frame 0”" in html
    assert job.hint == "Use a photo where one face is large, frontal and well lit." and job.hint in html
    assert html.count("face") <= 3  # headline, the service's words, the hint: each said once
    assert '{\n  &quot;code&quot;: &quot;x&quot;,\n  &quot;status&quot;: &quot;failed&quot;\n}' in html  # JSON
    assert f'action="/jobs/{job.code}/retry/"' in html and "/cancel/" not in html


@pytest.mark.django_db
def test_a_characters_failure_gets_advice_that_fits_a_character(logged_in, alice, make_job):
    job = make_job(alice, status=S.FAILED, error_category="face_not_found", error_message="No face detected")
    html = body(logged_in.get(reverse("jobs:detail", args=[job.code])))
    assert job.visual_type == "character" and "Pick another character" in html
    assert "where one face is large" not in html and "NavTalk method" not in html


@pytest.mark.django_db
def test_the_status_fragment_is_a_partial(logged_in, alice, make_job):
    job = make_job(alice, status=S.STARTED)
    response = logged_in.get(reverse("jobs:status", args=[job.code]))
    html = body(response)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "<html" not in html and "<header" not in html
    assert 'data-in-flight="true"' in html and 'data-part="status"' in html and "Started" in html
    Job.objects.filter(pk=job.pk).update(status=S.DONE, video_url="https://cdn.example.com/v.mp4")
    html = body(logged_in.get(reverse("jobs:status", args=[job.code])))
    assert 'data-in-flight="false"' in html and "https://cdn.example.com/v.mp4" in html


@pytest.mark.django_db
def test_it_shows_uploaded_inputs_under_signed_links(logged_in, alice, make_job, client):
    job = make_job(alice, visual_type="image", character_name="", audio_type="audio_base64", content="", voice="")
    job.visual_file.save("p.png", ContentFile(png_bytes()))
    job.audio_file.save("a.wav", ContentFile(wav_bytes()))
    html = body(logged_in.get(reverse("jobs:detail", args=[job.code])))
    assert "Uploaded image (PNG)" in html and "Uploaded audio (WAV)" in html
    link = re.search(r'<img class="thumb" src="([^"]+)"', html).group(1)
    assert link.startswith("/m/")
    assert b"".join(client.get(link).streaming_content) == png_bytes()


# --- retry, cancel, duplicate --------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_requeues_a_failed_job(logged_in, alice):
    team = alice.teams.get()
    job = Job.objects.create(team=team, created_by=alice, license_key=key_for_team(team), title="Broken",
                             visual_type="image", visual_url="https://example.com/p.jpg", audio_type="content",
                             content="Hi", voice="nova", status=S.FAILED, error_category="upstream_error",
                             error_message="boom")
    assert logged_in.get(reverse("jobs:retry", args=[job.code])).status_code == 405
    response = logged_in.post(reverse("jobs:retry", args=[job.code]), follow=True)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.error_message) == (S.QUEUED, 2, "")
    assert "Sent again (attempt 2)." in body(response)
    assert job.events.filter(from_status="failed", to_status="queued").exists()
    # A queued job cannot be retried: the page says so.
    response = logged_in.post(reverse("jobs:retry", args=[job.code]), follow=True)
    assert "Only failed or canceled jobs can be retried; this one is queued." in body(response)
    assert Job.objects.get(pk=job.pk).attempt == 2


@pytest.mark.django_db
def test_cancel_stops_a_job_in_flight(logged_in, alice, make_job):
    job = make_job(alice, status=S.PROCESSING)
    response = logged_in.post(reverse("jobs:cancel", args=[job.code]), follow=True)
    job.refresh_from_db()
    assert job.status == S.CANCELED and job.finished_at is not None
    assert "Canceled." in body(response)
    response = logged_in.post(reverse("jobs:cancel", args=[job.code]), follow=True)
    assert "can no longer be canceled" in body(response)


@pytest.mark.django_db
def test_duplicate_prefills_the_form(logged_in, alice, make_job):
    job = make_job(alice, title="Promo", visual_type="video", visual_url="https://example.com/v.mp4",
                   character_name="", content="Buy now", voice="ash",
                   params={"bbox_shift": -2, "parsing_mode": "raw"})
    response = logged_in.get(reverse("jobs:duplicate", args=[job.code]))
    html = body(response)
    assert response.status_code == 200
    assert 'value="Promo (copy)"' in input_tag(response, "title")
    assert "checked" in input_tag(response, "visual_source", "video_url")
    assert 'value="https://example.com/v.mp4"' in input_tag(response, "video_url")
    assert "checked" in input_tag(response, "audio_source", "content")
    assert "Buy now</textarea>" in html
    assert "checked" in input_tag(response, "voice", "ash")
    assert 'value="-2"' in input_tag(response, "bbox_shift")
    assert 'value="10"' in input_tag(response, "extra_margin")
    assert "checked" in input_tag(response, "parsing_mode", "raw")
    assert f'value="{job.code}"' in input_tag(response, "reuse_from")


@pytest.mark.django_db
def test_duplicate_reuses_uploaded_files(logged_in, alice, make_job):
    job = make_job(alice, visual_type="image", character_name="", audio_type="audio_base64", content="", voice="")
    job.visual_file.save("p.png", ContentFile(png_bytes()))
    job.audio_file.save("a.wav", ContentFile(wav_bytes()))
    response = logged_in.get(reverse("jobs:duplicate", args=[job.code]))
    assert "Reusing the photo uploaded for" in body(response) and "Reusing the audio uploaded for" in body(response)
    assert "checked" in input_tag(response, "visual_source", "image_file")

    response = logged_in.post(reverse("jobs:create"), {
        **DEFAULT_SLIDERS, "visual_source": "image_file", "audio_source": "audio_file",
        "reuse_from": str(job.code), "title": "Again"})
    assert response.status_code == 302
    copy = Job.objects.exclude(pk=job.pk).get()
    assert (copy.visual_file.name, copy.audio_file.name) == (job.visual_file.name, job.audio_file.name)
    assert (copy.visual_type, copy.audio_type, copy.title) == ("image", "audio_base64", "Again")

    # A video option cannot reuse a photo.
    response = logged_in.post(reverse("jobs:create"), {
        **DEFAULT_SLIDERS, "visual_source": "video_file", "audio_source": "audio_file", "reuse_from": str(job.code)})
    assert error_beside(response, "video_file") == "Choose a video to upload."


# --- history --------------------------------------------------------------------------------------


def _spread(make_job, user, count, **fields):
    """`count` jobs created a minute apart, oldest first."""
    start = timezone.now() - dt.timedelta(days=1)
    return [make_job(user, created_at=start + dt.timedelta(minutes=i), **fields) for i in range(count)]


@pytest.mark.django_db
def test_history_lists_newest_first_with_rows(logged_in, alice, make_job):
    old, new = _spread(make_job, alice, 2)
    Job.objects.filter(pk=old.pk).update(title="Older one", status=S.DONE)
    Job.objects.filter(pk=new.pk).update(title="Newer one", status=S.FAILED)
    html = body(logged_in.get(reverse("jobs:history")))
    assert html.index("Newer one") < html.index("Older one")
    assert '<span class="badge badge--failed">Failed</span>' in html
    assert "<td data-label=\"Method\">Built-in character + typed text</td>" in html
    assert f'href="/jobs/{new.code}/"' in html and ">alice<" in html


@pytest.mark.django_db
def test_history_filters_and_search(logged_in, alice, make_job, django_user_model):
    team = alice.teams.get()
    carol = django_user_model.objects.create_user("carol")
    team.members.add(carol)
    make_job(alice, title="Launch video", status=S.DONE)
    make_job(alice, title="Photo talk", visual_type="image", visual_url="https://e.com/p.jpg", character_name="",
             audio_type="audio_url", audio_url="https://e.com/a.mp3", content="", voice="", status=S.FAILED)
    make_job(carol, team=team, title="Carol's", content="secret launch plans", status=S.DONE)
    old = make_job(alice, title="Ancient", created_at=timezone.now() - dt.timedelta(days=40))

    def titles(**query):
        html = body(logged_in.get(reverse("jobs:history"), query))
        return sorted(re.findall(r'class="row-title">([^<]+)<', html))

    assert titles() == ["Ancient", "Carol&#x27;s", "Launch video", "Photo talk"]
    assert titles(status="failed") == ["Photo talk"]
    assert titles(method="5") == ["Photo talk"]
    assert titles(method="9") == ["Ancient", "Carol&#x27;s", "Launch video"]
    assert titles(creator=str(carol.pk)) == ["Carol&#x27;s"]
    assert titles(q="launch") == ["Carol&#x27;s", "Launch video"]  # title or text
    assert titles(q="launch", status="done", creator=str(alice.pk)) == ["Launch video"]
    day = timezone.localdate(old.created_at)
    assert titles(date_from=str(day), date_to=str(day)) == ["Ancient"]
    assert titles(date_from=str(day + dt.timedelta(days=1))) == ["Carol&#x27;s", "Launch video", "Photo talk"]
    assert titles(status="nonsense") == ["Ancient", "Carol&#x27;s", "Launch video", "Photo talk"]  # ignored
    assert "No jobs match these filters." in body(logged_in.get(reverse("jobs:history"), {"q": "zzz"}))


@pytest.mark.django_db
def test_history_says_when_the_dates_are_the_wrong_way_round(logged_in, alice, make_job):
    make_job(alice, title="Launch video")
    html = body(logged_in.get(reverse("jobs:history"), {"date_from": "2026-03-10", "date_to": "2026-03-01"}))
    error = re.search(r'<p class="field-error" id="error-date_to">([^<]+)</p>', html)
    assert error and "is before “From”" in html_lib.unescape(error.group(1))
    assert 'value="2026-03-01"' in html and 'value="2026-03-10"' in html  # what was typed stays


@pytest.mark.django_db
def test_history_pages_with_a_keyset_cursor(logged_in, alice, make_job):
    jobs = _spread(make_job, alice, 30)
    # Two jobs at the very same instant: the id breaks the tie, neither is lost nor shown twice.
    Job.objects.filter(pk=jobs[5].pk).update(created_at=jobs[4].created_at)
    for i, job in enumerate(jobs):
        Job.objects.filter(pk=job.pk).update(title=f"Job {i:02d}")

    def page(query):
        html = body(logged_in.get(reverse("jobs:history") + query))
        older = re.search(r'href="(\?[^"]*after=[^"]*)" rel="next"', html)
        newer = re.search(r'href="(\?[^"]*before=[^"]*)" rel="prev"', html)
        found = re.findall(r'class="row-title">Job (\d\d)<', html)
        return found, older and older.group(1).replace("&amp;", "&"), newer and newer.group(1).replace("&amp;", "&")

    first, older, newer = page("?q=Job")
    assert first == [f"{i:02d}" for i in range(29, 4, -1)] and newer is None
    assert "q=Job" in older
    second, older2, newer2 = page(older)
    assert second == ["04", "03", "02", "01", "00"] and older2 is None
    back, _, newer3 = page(newer2)
    assert back == first and newer3 is None
    assert page("?after=garbage")[0] == first  # a malformed cursor shows the first page


# --- gallery ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gallery_shows_done_videos_newest_first(logged_in, alice, make_job):
    jobs = _spread(make_job, alice, 14, status=S.DONE)
    for i, job in enumerate(jobs):
        Job.objects.filter(pk=job.pk).update(title=f"Clip {i:02d}", video_url=f"https://cdn.example.com/{i}.mp4")
    make_job(alice, title="Still rendering", status=S.PROCESSING)
    html = body(logged_in.get(reverse("jobs:gallery")))
    assert re.findall(r'class="gallery__title">Clip (\d\d)<', html) == [f"{i:02d}" for i in range(13, 1, -1)]
    assert '<video controls playsinline preload="metadata" src="https://cdn.example.com/13.mp4"' in html
    # A video still being made is a live placeholder above the finished ones (first page only).
    assert html.index("Still rendering") < html.index("Clip 13") and "Rendering…" in html
    assert html.count('data-in-flight="true"') == 1
    older = re.search(r'href="\?after=([^"]+)" rel="next"', html).group(1)
    html = body(logged_in.get(reverse("jobs:gallery"), {"after": older}))
    assert re.findall(r'class="gallery__title">Clip (\d\d)<', html) == ["01", "00"]
    assert "Still rendering" not in html


@pytest.mark.django_db
def test_a_person_without_a_team_is_told_to_ask_an_admin(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("dave"))
    for name in ("jobs:create", "jobs:history", "jobs:gallery"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "You're not in a team yet" in body(response) and "Ask an admin" in body(response)


@pytest.mark.django_db
def test_pages_need_a_login(client, alice, make_job):
    job = make_job(alice)
    for url in (reverse("jobs:create"), reverse("jobs:history"), reverse("jobs:gallery"),
                reverse("jobs:detail", args=[job.code]), reverse("jobs:status", args=[job.code])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_login_page_and_post_logout(client, alice):
    assert "Log in" in body(client.get(reverse("login")))
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-123!"})
    assert response.status_code == 302 and response["Location"] == reverse("jobs:create")
    html = body(client.get(reverse("jobs:create")))
    assert re.search(r'<form method="post" action="/logout/"', html)
    client.post(reverse("logout"))
    assert client.get(reverse("jobs:history")).status_code == 302


@pytest.mark.django_db
def test_services_transitions_show_in_the_timeline(logged_in, alice, make_job):
    job = make_job(alice, status=S.QUEUED)
    services.job_cancel(job, alice)
    html = body(logged_in.get(reverse("jobs:status", args=[job.code])))
    assert "Canceled by alice" in html and 'data-in-flight="false"' in html


@pytest.mark.django_db
def test_a_card_without_an_archived_copy_says_where_the_download_comes_from(logged_in, alice, make_job):
    make_job(alice, title="Not archived", status=S.DONE, video_url="https://cdn.example.com/v.mp4",
             archive_status="failed", archive_error="Could not connect")
    html = body(logged_in.get(reverse("jobs:gallery")))
    card = html[html.index("Not archived"):]
    assert 'href="https://cdn.example.com/v.mp4" download>Download' in html
    assert "(from the video service)" in card and "data-length-from-video" in card  # length read by the page
