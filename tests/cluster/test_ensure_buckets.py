"""manage.py ensure_buckets against a real SeaweedFS: creates a missing bucket, once."""

import uuid

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.storage


def test_it_creates_the_missing_bucket_once(seaweedfs, settings, capsys):
    bucket = f"fresh-{uuid.uuid4().hex[:12]}"
    for name, value in seaweedfs.env(bucket).items():
        setattr(settings, name, value)
        setattr(settings, "ENGINE_" + name, value)
    call_command("ensure_buckets")
    assert f"Bucket {bucket}: created" in capsys.readouterr().out
    seaweedfs.client().head_bucket(Bucket=bucket)  # raises if it is not there
    call_command("ensure_buckets")
    assert f"Bucket {bucket}: exists." in capsys.readouterr().out


def test_nothing_to_do_on_the_filesystem(settings, capsys):
    settings.S3_BUCKET = settings.ENGINE_S3_BUCKET = ""
    call_command("ensure_buckets")
    assert "no bucket to create" in capsys.readouterr().out


def test_a_self_hosted_s3_without_a_secret_is_refused(settings):
    settings.S3_BUCKET, settings.S3_ENDPOINT_URL, settings.S3_SECRET_ACCESS_KEY = "media", "http://s3:8333", ""
    with pytest.raises(CommandError, match="secret key is empty"):
        call_command("ensure_buckets")
