"""The local engine's data: licenses it accepts, tasks it renders, call counters.

EngineTask lifecycle (only `engine.services` changes `status`, always by compare-and-swap):

    STARTED ──► PROCESSING ──► DONE
       │            └────────► FAILED
       └──► FAILED  (instant mode with an injected failure; a task lost by its worker)

- STARTED: created by POST /generate; a `render_task` is queued on commit (render mode)
  or, in instant mode, nothing runs: the reported state is derived from the clock.
- PROCESSING: claimed by one worker (CAS from STARTED); a duplicate delivery sees the
  claim fail and does nothing.
- DONE / FAILED are terminal.

No license is stored anywhere: tasks and counters carry the license's sha256
fingerprint, licenses the same hash plus a masked hint.
"""

import hashlib
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from lib.masking import mask

from . import faults as faults_module


def fingerprint(license: str) -> str:
    """The sha256 hex of a license: what we store and compare instead of the license."""
    return hashlib.sha256(license.encode("utf-8")).hexdigest()


def validate_fault_spec(value: str) -> None:
    try:
        faults_module.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class EngineLicense(models.Model):
    """A license the engine accepts besides settings.ENGINE_LICENSES, optionally with its
    own fault profile (tests and benchmarks create these with `EngineLicense.issue`)."""

    name = models.CharField(max_length=100)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False,
                                   help_text="sha256 hex of the license; the license itself is never stored.")
    hint = models.CharField(max_length=40, editable=False)
    faults = models.CharField(max_length=500, blank=True, validators=[validate_fault_spec],
                              help_text="Fault spec, e.g. latency=10,fail_rate=0.1,mode=instant. "
                                        "Empty: the global ENGINE_FAULTS apply.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "extra engine license (tests, fault injection)"
        verbose_name_plural = "extra engine licenses (tests, fault injection)"

    def __str__(self):
        return f"{self.name} ({self.hint})"

    def set_secret(self, license: str) -> None:
        self.secret_hash = fingerprint(license)
        self.hint = mask(license)

    @classmethod
    def issue(cls, name: str, *, license: str | None = None, faults: str = "", active: bool = True):
        """Create a license row; returns (row, license). The license is shown only here."""
        license = license or "sk-engine-" + secrets.token_hex(16)
        row = cls(name=name, faults=faults, active=active)
        row.set_secret(license)
        row.full_clean()
        row.save()
        return row, license


class EngineCallCounter(models.Model):
    """HTTP calls per license fingerprint, for tests and benchmarks (GET /engine/stats).
    Incremented with F() updates, so concurrent workers and processes stay exact."""

    fingerprint = models.CharField(max_length=64, primary_key=True)
    generate_calls = models.BigIntegerField(default=0)
    status_calls = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.fingerprint[:12]}…: {self.generate_calls} generate, {self.status_calls} status"


class EngineTask(models.Model):
    class Status(models.TextChoices):
        STARTED = "started"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    COMPLETE_STATUSES = (Status.DONE, Status.FAILED)

    task_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    license_fingerprint = models.CharField(max_length=64)  # sha256 hex; lookups are by pk + this
    # The validated request without the license. audio_base64 is not kept here: its
    # decoded bytes live in ENGINE_MEDIA_ROOT/<input_audio>.
    request = models.JSONField(default=dict)
    input_audio = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STARTED)
    message = models.TextField(blank=True)
    # Why a FAILED task failed, as a navtalk.contract.Failure code (sent as `code`).
    failure_code = models.CharField(max_length=20, blank=True)
    video_path = models.CharField(max_length=200, blank=True, help_text="Relative to ENGINE_MEDIA_ROOT.")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # When the render task was last handed to the broker (re-dispatch of lost messages).
    enqueued = models.DateTimeField(null=True, blank=True)
    # Fault flags, decided at creation (engine.faults.task_faults).
    latency = models.FloatField(default=0.0)
    instant = models.BooleanField(default=False)
    inject_failure = models.BooleanField(default=False)
    never_finish = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = "engine render task"

    def __str__(self):
        return f"{self.task_id} ({self.status})"

    @property
    def is_complete(self) -> bool:
        return self.status in self.COMPLETE_STATUSES
