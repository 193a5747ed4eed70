"""The API's archived-result downloads from S3-compatible object storage (a real
SeaweedFS): streamed from the bucket, with Range, as an attachment."""

import pytest
from django.core.files.base import ContentFile

pytestmark = [pytest.mark.storage, pytest.mark.django_db]
VIDEO = bytes(range(256)) * 64


def test_the_archived_result_downloads_from_the_bucket_with_range(s3_media, api_for, alice, make_job):
    job = make_job(alice, status="done", archive_status="done", video_url="https://example.com/r.mp4")
    job.archive_file.save("r.mp4", ContentFile(VIDEO), save=True)
    s3 = s3_media.client()
    assert s3.get_object(Bucket=s3_media.bucket, Key=job.archive_file.name)["Body"].read() == VIDEO
    api = api_for(alice)
    url = api.get(f"jobs/{job.code}/").json()["result"]["video"]
    whole = api.get(url)
    assert (whole.status_code, whole.content) == (200, VIDEO)
    assert 'attachment; filename="hello.mp4"' == whole.headers["Content-Disposition"]
    part = api.get(url, headers={"Range": "bytes=256-511"})
    assert (part.status_code, part.content) == (206, VIDEO[256:512])
    s3.delete_object(Bucket=s3_media.bucket, Key=job.archive_file.name)
    assert api.get(url).status_code == 404
