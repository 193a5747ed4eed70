"""Uploads on S3-compatible object storage (a real SeaweedFS): the create form stores the
upload in the bucket; the upstream is handed a presigned GET of the object (expiring after
MEDIA_URL_MAX_AGE), not PUBLIC_BASE_URL/m/…, fetched here over real HTTP, also through
the local engine's SSRF-safe fetcher; the create page's warning speaks of the storage."""

import base64
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.urls import reverse

from jobs.models import Job
from jobs.submit import build_request
from keys.selection import key_for_team
from tests.front.create_support import mp4, mp4_bytes, png, png_bytes, post, wav, wav_bytes

pytestmark = [pytest.mark.storage, pytest.mark.django_db]


def test_uploads_go_to_the_bucket_and_the_upstream_gets_presigned_links(s3_media, settings, logged_in, tmp_path):
    settings.MEDIA_URL_MAX_AGE = 600
    settings.PUBLIC_BASE_URL = "http://portal.invalid"  # never used for uploads on S3
    post(logged_in, visual_source="image_file", image_file=png(), audio_source="audio_file", audio_file=wav())
    post(logged_in, visual_source="video_file", video_file=mp4(), audio_source="content", content="Hi.",
         voice="echo")
    image_job, video_job = Job.objects.order_by("created_at")
    s3 = s3_media.client()
    assert s3.get_object(Bucket=s3_media.bucket, Key=image_job.visual_file.name)["Body"].read() == png_bytes()
    assert image_job.visual_file.name.startswith("uploads/") and not settings.MEDIA_ROOT.exists()

    image_request = build_request(image_job)
    link = image_request.image_url
    assert link.startswith(f"{s3_media.endpoint_url}/{s3_media.bucket}/uploads/")
    assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["600"]
    assert requests.get(link, timeout=10).content == png_bytes()
    assert requests.get(link.split("?")[0], timeout=10).status_code == 403  # the bucket is private
    assert base64.b64decode(image_request.audio_base64) == wav_bytes()  # inline, read from the bucket

    from engine.fetch import fetch_to_file  # the local engine fetches it as NavTalk would

    video_link = build_request(video_job).video_url
    got = fetch_to_file(video_link, tmp_path / "in.mp4", field="video_url", max_bytes=10**7, timeout=10,
                        allowed=(f"{s3_media.endpoint_url}/{s3_media.bucket}/uploads/",))
    assert got.read_bytes() == mp4_bytes()


def test_the_engine_may_fetch_the_buckets_uploads_by_default_when_the_storage_is_on_loopback(tmp_path):
    env = {"S3_BUCKET": "media", "S3_ENDPOINT_URL": "http://127.0.0.1:8333", "VAR_DIR": str(tmp_path),
           "PUBLIC_BASE_URL": "https://portal.example.com", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", "from navtalk_portal import settings; "
                          "print(settings.ENGINE_FETCH_ALLOWED_PRIVATE)"], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "('http://127.0.0.1:8333/media/uploads/',)"


def test_the_create_page_warns_about_a_storage_the_upstream_cannot_reach(s3_media, settings, logged_in, alice):
    key = key_for_team(alice.teams.get())
    key.generate_url = "http://93.184.216.34/generate"  # a public upstream; the storage is on loopback
    key.save()
    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    body = logged_in.get(reverse("jobs:create")).content.decode()
    assert f"from the file storage at {s3_media.endpoint_url}, a private address it cannot reach" in body
    assert "PUBLIC_BASE_URL" not in body

    settings.S3_ENDPOINT_URL = ""  # AWS itself: public, nothing to warn about
    cache.clear()  # the warning is cached for 5 minutes (front.views._upload_warning)
    assert "Uploads may not reach the video service." not in logged_in.get(reverse("jobs:create")).content.decode()
