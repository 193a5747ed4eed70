"""Personal access tokens for the REST API, and the jobs made through it.

A token belongs to one person in one team; only a SHA-256 of it is stored (the token is
shown once, when it is made). It reads `ntp_<prefix>_<secret>`: the prefix finds the row,
the hash proves the rest. Jobs are related from here (`ApiJob`), never by a field on Job.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

TOKEN_PREFIX = "ntp_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "Read: list and download"
        WRITE = "write", "Read and write: also create, cancel, retry"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.WRITE)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.display})"

    @property
    def display(self) -> str:
        """What lists show: the prefix only (the secret part is never kept)."""
        return f"{TOKEN_PREFIX}{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @classmethod
    def issue(cls, **fields) -> tuple["ApiToken", str]:
        """A new token and its full text (to show once)."""
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = f"{TOKEN_PREFIX}{prefix}_{secret}"
        return cls.objects.create(prefix=prefix, token_hash=digest(token), **fields), token

    @classmethod
    def find(cls, token: str):
        """The active token for this text, or None (constant-time comparison of hashes)."""
        if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
            return None
        prefix = token[len(TOKEN_PREFIX):].split("_", 1)[0]
        row = cls.objects.select_related("user", "team").filter(prefix=prefix).first()
        if row is None or not secrets.compare_digest(row.token_hash, digest(token)) or not row.is_active:
            return None
        return row


class ApiJob(models.Model):
    """A job created through the API: which token made it, and its Idempotency-Key."""

    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="api_origin")
    token = models.ForeignKey(ApiToken, null=True, on_delete=models.SET_NULL, related_name="jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team", "idempotency_key"],
                                               condition=~Q(idempotency_key=""), name="apijob_idempotency")]

    def __str__(self):
        return f"API job {self.job_id}"
