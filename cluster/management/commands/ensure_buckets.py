"""Create the S3 buckets the settings name (S3_BUCKET, ENGINE_S3_BUCKET) if they do not
exist yet; nothing to do when media storage is the filesystem. Run once per deployment,
beside `migrate` (docker-compose's one-shot `migrate` service runs both)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the S3 buckets named by S3_BUCKET and ENGINE_S3_BUCKET if they are missing."

    def handle(self, *args, **options):
        wanted = {}
        if settings.S3_BUCKET:
            wanted[settings.S3_BUCKET] = (settings.S3_ENDPOINT_URL, settings.S3_ACCESS_KEY_ID,
                                          settings.S3_SECRET_ACCESS_KEY, settings.S3_REGION)
        if settings.ENGINE_S3_BUCKET:
            wanted.setdefault(settings.ENGINE_S3_BUCKET, (
                settings.ENGINE_S3_ENDPOINT_URL, settings.ENGINE_S3_ACCESS_KEY_ID,
                settings.ENGINE_S3_SECRET_ACCESS_KEY, settings.ENGINE_S3_REGION))
        if not wanted:
            self.stdout.write("Media storage is the filesystem: no bucket to create.")
            return
        import boto3
        from botocore.exceptions import ClientError

        for bucket, (endpoint, key, secret, region) in wanted.items():
            if endpoint and not secret:  # AWS may use a role; a self-hosted S3 needs its key
                raise CommandError(f"Bucket {bucket}: the secret key is empty. Set S3_SECRET_ACCESS_KEY "
                                   "(and ENGINE_S3_SECRET_ACCESS_KEY if the engine has its own).")
            s3 = boto3.client("s3", endpoint_url=endpoint or None, aws_access_key_id=key or None,
                              aws_secret_access_key=secret or None, region_name=region or None)
            try:
                s3.head_bucket(Bucket=bucket)
                self.stdout.write(f"Bucket {bucket}: exists.")
                continue
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                    raise
            extra = {}
            if region and region != "us-east-1":
                extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(Bucket=bucket, **extra)
            self.stdout.write(f"Bucket {bucket}: created (private).")
