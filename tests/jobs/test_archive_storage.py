"""Archiving into S3-compatible object storage (a real SeaweedFS, tests/conftest.py
`s3_media`): the result is fetched over real HTTP to a temporary file, its poster made
from that file, both streamed into the bucket; the portal's result views play them from
the bucket with Range. Nothing lands in MEDIA_ROOT."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import archive
from jobs.models import Job

pytestmark = [pytest.mark.storage, pytest.mark.django_db]
S, A = Job.Status, Job.Archive


def make_mp4(seconds: float) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(25 * seconds)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 9) % 255, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


VIDEO = make_mp4(2.0)


class VideoHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(VIDEO)))
        self.end_headers()
        self.wfile.write(VIDEO)


@pytest.fixture
def video_server(settings):
    """A loopback HTTP server of one video, the only private origin the archiver may fetch."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), VideoHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    settings.FETCH_ALLOWED_PRIVATE = (httpd.url,)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


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
