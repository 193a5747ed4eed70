"""Presets: a team's saved face (visual source), voice and advanced parameters, to start
a job from on the create page, in the API (`preset`) and later in batches.

A preset keeps what a job keeps (jobs.Job's input fields), never a copy of the rules:
applying one fills the create form, and the form's rules (front.job_inputs) decide.
An uploaded face is kept by its storage name under `uploads/`, like a job's own file.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.models import Job


class Preset(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    visual_type = models.CharField(max_length=10, choices=Job.Visual.choices)
    visual_url = models.URLField(max_length=2000, blank=True)
    visual_file = models.CharField(max_length=300, blank=True, help_text="Storage name of an uploaded face.")
    character_name = models.CharField(max_length=100, blank=True)
    voice = models.CharField(max_length=10, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Advanced parameters moved from their default.")

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="preset_team_name")]

    def __str__(self):
        return self.name

    @property
    def visual_file_kept(self) -> bool:
        return bool(self.visual_file)

    @property
    def face_words(self) -> str:
        if self.visual_type == Job.Visual.CHARACTER:
            return f"Character {self.character_name}"
        kind = "Video" if self.visual_type == Job.Visual.VIDEO else "Photo"
        return f"{kind} link" if self.visual_url else f"Uploaded {kind.lower()}"


class WebhookEndpoint(models.Model):
    """A team's receiver of signed job events (Standard Webhooks' scheme; automation.webhooks).
    The signing secret is encrypted at rest like a license key and shown once."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0, help_text="Failed attempts since the last success.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.url

    @property
    def secret(self) -> str:
        from keys.crypto import decrypt

        return decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        from keys.crypto import encrypt

        self.secret_encrypted = encrypt(value)


class JobWebhook(models.Model):
    """A receiver named in one job's create call (the API's `webhook_url`): it hears that
    job's end (done, failed, canceled), signed with a secret of its own, made for this job
    and shown once in the create answer (encrypted at rest like an endpoint's)."""

    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.url

    secret = WebhookEndpoint.secret


class WebhookDelivery(models.Model):
    """One event for one receiver (a team's endpoint, or one job's own webhook), retried
    with backoff until it succeeds or runs out."""

    class Status(models.TextChoices):
        PENDING = "pending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="deliveries")
    job_hook = models.ForeignKey(JobWebhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40)
    msg_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="The receiver's last HTTP status.")
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="webhook_due",
                                condition=models.Q(status="pending"))]

    def __str__(self):
        return f"{self.event} → {self.endpoint or self.job_hook}"

    @property
    def receiver(self):
        return self.endpoint or self.job_hook


class Batch(models.Model):
    """Jobs made from the rows of a spreadsheet: columns mapped to the create form's fields,
    a text template with {column} variables, optionally a preset under every row."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    columns = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Form field -> column.")
    template = models.TextField(blank=True)
    preset = models.ForeignKey(Preset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class BatchRow(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(help_text="The row in the spreadsheet (1 = the first under the header).")
    values = models.JSONField(default=dict)
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="batchrow_number")]

    def __str__(self):
        return f"Row {self.number} of {self.batch_id}"
