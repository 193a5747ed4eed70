"""Archiving finished videos through the SSRF-safe fetcher, from a real HTTP server."""

import io
from datetime import timedelta

import av
import numpy as np
import pytest
from django.utils import timezone

from accounts.models import Profile
from jobs import archive, notifications
from jobs.models import Job
from tests.support.http import Routes, raw

S, A = Job.Status, Job.Archive


def make_mp4(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(25 * seconds)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 9) % 255, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


@pytest.fixture
def video_server():
    server = Routes({"/v.mp4": raw(make_mp4(2.0), headers={"Content-Type": "video/mp4"}),
                     "/broken.mp4": raw(b"not a video at all"),
                     "/flaky": raw(b"", 503)})
    yield server
    server.close()


@pytest.fixture
def done_job(alice, make_job, settings, tmp_path, video_server):
    settings.MEDIA_ROOT = tmp_path
    settings.FETCH_ALLOWED_PRIVATE = video_server.allowed

    def make(path="/v.mp4"):
        return make_job(alice, status=S.DONE, video_url=video_server.url + path, finished_at=timezone.now())

    return make


def test_it_archives_the_video_with_a_poster_and_duration(done_job, tmp_path):
    job = done_job()
    archive.schedule(job.pk)
    archive.archive_job(job.pk)
    job.refresh_from_db()
    assert job.archive_status == A.DONE
    assert (tmp_path / job.archive_file.name).read_bytes()[4:8] == b"ftyp"
    assert (tmp_path / job.poster_file.name).read_bytes()[:2] == b"\xff\xd8"  # JPEG
    assert job.video_duration == pytest.approx(2.0, abs=0.1)
    archive.archive_job(job.pk)  # a duplicate task finds nothing to do
    job.refresh_from_db()
    assert job.archive_tries == 1


def test_it_backs_off_on_transient_errors_then_gives_up(done_job, settings):
    settings.ARCHIVE_MAX_TRIES = 2
    job = done_job("/flaky")
    archive.schedule(job.pk)
    archive.archive_job(job.pk)
    job.refresh_from_db()
    assert job.archive_status == A.PENDING and job.archive_next_at > timezone.now()
    assert "503" in job.archive_error
    archive.archive_job(job.pk)  # not due yet: nothing happens
    assert Job.objects.get(pk=job.pk).archive_tries == 1
    Job.objects.filter(pk=job.pk).update(archive_next_at=timezone.now())
    archive.archive_job(job.pk)
    job.refresh_from_db()
    assert (job.archive_status, job.archive_tries) == (A.FAILED, 2)


def test_it_fails_permanently_on_a_non_video_or_a_private_address(done_job, settings):
    job = done_job("/broken.mp4")
    archive.schedule(job.pk)
    archive.archive_job(job.pk)
    job.refresh_from_db()
    assert job.archive_status == A.FAILED and "not a playable video" in job.archive_error
    settings.FETCH_ALLOWED_PRIVATE = frozenset()
    other = done_job()
    archive.schedule(other.pk)
    archive.archive_job(other.pk)
    other.refresh_from_db()
    assert other.archive_status == A.FAILED and "public server" in other.archive_error
    # It names what fixes it: the exact source to add to FETCH_ALLOWED_PRIVATE.
    source = other.video_url.rsplit("/", 1)[0] + "/"
    assert f"add {source} to the setting FETCH_ALLOWED_PRIVATE" in other.archive_error


def test_it_can_be_turned_off(done_job, settings):
    settings.ARCHIVE_RESULTS = False
    job = done_job()
    archive.schedule(job.pk)
    job.refresh_from_db()
    assert job.archive_status == A.NONE


def test_the_reconciler_republishes_lost_and_abandoned_archives(done_job):
    lost = done_job()
    Job.objects.filter(pk=lost.pk).update(archive_status=A.PENDING, archive_next_at=timezone.now() - timedelta(hours=1))
    abandoned = done_job()
    Job.objects.filter(pk=abandoned.pk).update(archive_status=A.ARCHIVING,
                                               archive_next_at=timezone.now() - timedelta(seconds=1))
    assert archive.reconcile_archives() == 1
    assert Job.objects.get(pk=abandoned.pk).archive_status == A.PENDING


def test_notifications_list_finished_jobs_since_last_look(alice, make_job, mailoutbox):
    done = make_job(alice, status=S.DONE, finished_at=timezone.now())
    make_job(alice, status=S.PROCESSING)
    assert list(notifications.unseen(alice)) == [done]
    notifications.mark_seen(alice)
    assert list(notifications.unseen(alice)) == []
    assert notifications.job_finished(done.pk) is False  # no opt-in, no address
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.filter(user=alice).update(email_on_done=True)
    assert notifications.job_finished(done.pk) is True
    assert len(mailoutbox) == 1 and done.title in mailoutbox[0].subject
    assert mailoutbox[0].to == ["alice@example.com"]


def test_the_poster_is_a_representative_frame_not_a_black_fade_in(tmp_path):
    """A video that fades in from black (as the Megamind clip did) gets a poster from
    its picture, not its first, black frame."""
    import av
    import numpy as np
    from PIL import Image, ImageStat

    from jobs.archive import extract_poster

    video = tmp_path / "fade.mp4"
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        checker = (np.indices((120, 160)).sum(axis=0) // 20 % 2 * 200 + 30).astype(np.uint8)
        for i in range(100):  # 4 s: 1 s of black, then a bright checkerboard
            gray = np.zeros((120, 160), np.uint8) if i < 25 else checker
            frame = av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    duration = extract_poster(video, tmp_path / "poster.jpg")
    assert 3.5 < duration < 4.5
    brightness = ImageStat.Stat(Image.open(tmp_path / "poster.jpg").convert("L")).mean[0]
    assert brightness > 60, brightness
