"""Archiving into S3-compatible object storage (a real SeaweedFS, tests/conftest.py
`s3_media`): the result is fetched over real HTTP to a temporary file, its poster made
from that file, both streamed into the bucket; the portal's result views play them from
the bucket with Range. Nothing lands in MEDIA_ROOT."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import archive
from jobs.models import Job
from tests.jobs.test_archive import make_mp4
from tests.lib.test_fetch import Server

pytestmark = [pytest.mark.storage, pytest.mark.django_db]
S, A = Job.Status, Job.Archive
VIDEO = make_mp4(2.0)


@pytest.fixture
def video_server(settings):
    server = Server({"/v.mp4": (200, {"Content-Type": "video/mp4"}, VIDEO, 0)})
    settings.FETCH_ALLOWED_PRIVATE = server.allowed
    yield server
    server.close()


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_result_is_archived_into_the_bucket_and_plays_from_it(s3_media, settings, alice, make_job, video_server,
                                                                client):
    job = make_job(alice, title="Launch", status=S.DONE, video_url=video_server.url + "/v.mp4",
                   finished_at=timezone.now())
    archive.schedule(job.pk)
    archive.archive_job(job.pk)
    job.refresh_from_db()
    assert job.archive_status == A.DONE, job.archive_error
    assert (job.archive_file.name, job.poster_file.name) == (f"results/{job.code.hex}.mp4",
                                                             f"posters/{job.code.hex}.jpg")

    s3 = s3_media.client()
    stored = s3.get_object(Bucket=s3_media.bucket, Key=job.archive_file.name)["Body"].read()
    assert stored == VIDEO
    poster = s3.get_object(Bucket=s3_media.bucket, Key=job.poster_file.name)["Body"].read()
    assert poster[:2] == b"\xff\xd8"
    assert not settings.MEDIA_ROOT.exists()  # no local copy: any node serves it
    assert not list((settings.VAR_DIR / "tmp").glob(f"archive-{job.code.hex}-*"))  # temp files removed

    client.force_login(alice)
    url = reverse("jobs:video", args=[job.code])
    whole = client.get(url)
    assert whole.status_code == 200 and content(whole) == VIDEO
    part = client.get(url, HTTP_RANGE="bytes=100-1099")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-1099/{len(VIDEO)}"
    assert content(part) == VIDEO[100:1100]
    picture = client.get(reverse("jobs:poster", args=[job.code]))
    assert picture.status_code == 200 and content(picture) == poster


def test_an_archived_copy_missing_from_the_bucket_is_a_404(s3_media, alice, make_job, client):
    job = make_job(alice, status=S.DONE, finished_at=timezone.now(), video_url="https://cdn.example.com/x.mp4")
    Job.objects.filter(pk=job.pk).update(archive_status=A.DONE, archive_file=f"results/{job.code.hex}.mp4")
    client.force_login(alice)
    assert client.get(reverse("jobs:video", args=[job.code])).status_code == 404
