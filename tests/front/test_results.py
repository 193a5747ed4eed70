"""Archived results in the portal: the team-only video and poster views (with HTTP Range),
the detail page and gallery playing the archived copy, and "Archive again"."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job

S, A = Job.Status, Job.Archive
VIDEO = bytes(range(256)) * 40  # 10 240 bytes; the views never decode it
POSTER = b"\xff\xd8\xff\xe0" + b"\x00" * 100


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


@pytest.fixture
def archived(alice, make_job, media_root):
    job = make_job(alice, title="Quarterly update", status=S.DONE, finished_at=timezone.now(),
                   video_url="https://cdn.example.com/out.mp4")
    (media_root / "results").mkdir(parents=True)
    (media_root / "posters").mkdir(parents=True)
    (media_root / f"results/{job.code.hex}.mp4").write_bytes(VIDEO)
    (media_root / f"posters/{job.code.hex}.jpg").write_bytes(POSTER)
    Job.objects.filter(pk=job.pk).update(archive_status=A.DONE, archive_file=f"results/{job.code.hex}.mp4",
                                         poster_file=f"posters/{job.code.hex}.jpg", video_duration=7.6)
    job.refresh_from_db()
    return job


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_it_streams_the_archived_video_to_the_team(client, alice, archived):
    client.force_login(alice)
    response = client.get(reverse("jobs:video", args=[archived.code]))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4" and response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert content(response) == VIDEO
    assert response["Content-Disposition"] == 'inline; filename="quarterly-update.mp4"'


@pytest.mark.django_db
def test_it_answers_range_requests(client, alice, archived):
    client.force_login(alice)
    url = reverse("jobs:video", args=[archived.code])
    response = client.get(url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(VIDEO)}" and response["Content-Length"] == "100"
    assert content(response) == VIDEO[100:200]
    suffix = client.get(url, HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206 and content(suffix) == VIDEO[-10:]
    outside = client.get(url, HTTP_RANGE=f"bytes={len(VIDEO)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(VIDEO)}"
    # A client holding another version (If-Range no longer matches) gets the whole file.
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"not-the-etag"')
    assert stale.status_code == 200 and content(stale) == VIDEO
    fresh = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=response["ETag"])
    assert fresh.status_code == 206 and content(fresh) == VIDEO[:10]


@pytest.mark.django_db
def test_download_is_an_attachment(client, alice, archived):
    client.force_login(alice)
    response = client.get(reverse("jobs:video", args=[archived.code]), {"download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="quarterly-update.mp4"'


@pytest.mark.django_db
def test_it_serves_the_poster(client, alice, archived):
    client.force_login(alice)
    response = client.get(reverse("jobs:poster", args=[archived.code]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert content(response) == POSTER


@pytest.mark.django_db
def test_another_team_gets_a_404(client, bob, archived):
    client.force_login(bob)
    for name in ("jobs:video", "jobs:poster"):
        assert client.get(reverse(name, args=[archived.code])).status_code == 404
    assert client.post(reverse("jobs:archive_again", args=[archived.code])).status_code == 404


@pytest.mark.django_db
def test_it_needs_a_login(client, archived):
    response = client.get(reverse("jobs:video", args=[archived.code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("state", [A.NONE, A.PENDING, A.ARCHIVING, A.FAILED])
def test_there_is_no_archived_video_until_it_is_archived(client, alice, make_job, state):
    job = make_job(alice, status=S.DONE, video_url="https://cdn.example.com/out.mp4", archive_status=state,
                   archive_file="results/x.mp4" if state == A.FAILED else "")
    client.force_login(alice)
    assert client.get(reverse("jobs:video", args=[job.code])).status_code == 404
    assert client.get(reverse("jobs:poster", args=[job.code])).status_code == 404


@pytest.mark.django_db
def test_a_missing_file_is_a_404(client, alice, archived, media_root):
    (media_root / archived.archive_file.name).unlink()
    client.force_login(alice)
    assert client.get(reverse("jobs:video", args=[archived.code])).status_code == 404


@pytest.mark.django_db
def test_detail_and_gallery_play_the_archived_copy_with_its_poster(client, alice, archived):
    client.force_login(alice)
    video, poster = f"/jobs/{archived.code}/video.mp4", f"/jobs/{archived.code}/poster.jpg"
    detail = client.get(reverse("jobs:detail", args=[archived.code])).content.decode()
    assert f'src="{video}" poster="{poster}"' in detail
    assert f'href="{video}?download=1" download' in detail and "Length 0:07" in detail
    assert "Archived: this copy stays in the portal" in detail and "cdn.example.com" not in detail
    gallery = client.get(reverse("jobs:gallery")).content.decode()
    assert f'src="{video}" poster="{poster}"' in gallery and 'preload="none"' in gallery
    assert "0:07" in gallery and "alice" in gallery and "Quarterly update" in gallery
    assert f'data-copy-link="/jobs/{archived.code}/"' in gallery


@pytest.mark.django_db
@pytest.mark.parametrize("state, words", [(A.PENDING, "Saving a copy in the portal"),
                                          (A.ARCHIVING, "Saving a copy in the portal"),
                                          (A.FAILED, "could not save its own copy")])
def test_until_archived_it_plays_the_upstream_url_and_says_why(client, alice, make_job, state, words):
    job = make_job(alice, status=S.DONE, video_url="https://cdn.example.com/out.mp4", archive_status=state,
                   archive_error="The download timed out." if state == A.FAILED else "", finished_at=timezone.now())
    client.force_login(alice)
    html = client.get(reverse("jobs:detail", args=[job.code])).content.decode()
    assert 'src="https://cdn.example.com/out.mp4"' in html and words in html
    # Archiving still changes the page by itself; a failed archive does not.
    assert f'data-in-flight="{"false" if state == A.FAILED else "true"}"' in html
    archive_again = f'action="/jobs/{job.code}/archive/"'
    assert (archive_again in html) == (state == A.FAILED)
    if state == A.FAILED:
        assert "The download timed out." in html


@pytest.mark.django_db
def test_archive_again_requeues_a_failed_archive(client, alice, make_job):
    job = make_job(alice, status=S.DONE, video_url="https://cdn.example.com/out.mp4", archive_status=A.FAILED,
                   archive_tries=6, archive_error="Too slow")
    client.force_login(alice)
    response = client.post(reverse("jobs:archive_again", args=[job.code]), follow=True)
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    assert "Archiving again." in response.content.decode()
    job.refresh_from_db()
    assert job.archive_status == A.PENDING and job.archive_tries == 0
    # Only a failed archive can be started again.
    response = client.post(reverse("jobs:archive_again", args=[job.code]), follow=True)
    assert "Only a failed archive can be started again." in response.content.decode()
    assert client.get(reverse("jobs:archive_again", args=[job.code])).status_code == 405
