"""The portal's jobs: the character catalog, jobs and their events.

Job lifecycle (only `jobs.services` changes `Job.status`, always by compare-and-swap):

    AWAITING_APPROVAL ──► QUEUED   (a team owner/admin approves; jobs.approvals says which
          │                          jobs wait: over the team's length, or by a chosen member)
          └──► REJECTED            (an owner/admin rejects, with a comment; terminal)
    QUEUED ──► SUBMITTING ──► STARTED ──► PROCESSING ──► DONE
       ▲            │            │             │
       │            ├────────────┴─────────────┴──► FAILED
       │            └──► QUEUED   (transient /generate error that provably created
       │                           no upstream task: back off and resubmit)
       └── Retry (a person's explicit action, from FAILED or CANCELED)
    AWAITING_APPROVAL | QUEUED | SUBMITTING | STARTED | PROCESSING ──► CANCELED (a person's action)

- QUEUED: saved; a `submit_job` task is (or will be, via the reconciler) on its way.
- SUBMITTING: claimed by one worker, which is calling `/generate` right now. A job
  stuck here with no task_id is resolved by `services.reconcile` (see there).
- STARTED / PROCESSING: the upstream has a task_id; `next_poll_at` says when the batch
  poller looks again. `deadline_at` bounds the wait (then FAILED, category timeout).
- AWAITING_APPROVAL: saved, holding its quota unit as a queued job does, but never
  dispatched, polled or sent upstream until approved (then QUEUED, dispatched on commit).
- DONE / FAILED / CANCELED / REJECTED are terminal; only Retry leaves FAILED/CANCELED.
  A rejected job keeps its inputs (Duplicate and edit makes a new job from them).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from navtalk import contract


class Character(models.Model):
    """A built-in character (`character_name` upstream), shown with a preview."""

    name = models.CharField(max_length=100, unique=True, help_text="Sent upstream, e.g. navtalk.Leo")
    display_name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    preview = models.CharField(
        max_length=300, blank=True,
        help_text="Static path (e.g. characters/leo.jpg) or absolute URL of a preview image.",
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.display_name or self.name

    @property
    def preview_url(self) -> str:
        if not self.preview or self.preview.startswith(("http://", "https://", "/")):
            return self.preview
        from django.templatetags.static import static

        return static(self.preview)


def upload_to(instance, filename):
    # Unguessable name; the extension comes from the sniffed content type (set by the form).
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"uploads/{uuid.uuid4().hex}.{ext}"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Submitting"
        STARTED = "started", "Started"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        REJECTED = "rejected", "Not approved"

    ACTIVE_STATUSES = (Status.STARTED, Status.PROCESSING)  # polled
    PENDING_STATUSES = (Status.QUEUED, Status.SUBMITTING)  # not yet upstream
    IN_FLIGHT_STATUSES = PENDING_STATUSES + ACTIVE_STATUSES
    TERMINAL_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELED, Status.REJECTED)
    # Held for a team admin's decision (jobs.approvals): not in flight, never dispatched.
    WAITING_STATUSES = (Status.AWAITING_APPROVAL,)

    class Visual(models.TextChoices):
        VIDEO = "video", "Video"
        IMAGE = "image", "Image"
        CHARACTER = "character", "Built-in character"

    class Audio(models.TextChoices):
        URL = "audio_url", "Audio URL"
        FILE = "audio_base64", "Audio file"
        TEXT = "content", "Text to speech"

    # Failure categories are the contract's codes (navtalk.contract.Failure).
    Category = models.TextChoices("Category", [(f.name, (f.value, f.label)) for f in contract.Failure])

    VOICES = contract.VOICES
    # Advanced parameters: only values moved away from their default are sent upstream.
    ADVANCED_DEFAULTS = contract.PARAM_DEFAULTS

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    license_key = models.ForeignKey("keys.LicenseKey", null=True, on_delete=models.SET_NULL, related_name="jobs")
    title = models.CharField(max_length=200)

    # Inputs, kept as entered so a failed job can be retried or duplicated.
    visual_type = models.CharField(max_length=10, choices=Visual.choices)
    visual_url = models.URLField(max_length=2000, blank=True)
    visual_file = models.FileField(upload_to=upload_to, blank=True)
    character_name = models.CharField(max_length=100, blank=True)
    audio_type = models.CharField(max_length=12, choices=Audio.choices)
    audio_url = models.URLField(max_length=2000, blank=True)
    audio_file = models.FileField(upload_to=upload_to, blank=True)
    content = models.TextField(blank=True)
    audio_seconds = models.FloatField(null=True, blank=True,
                                      help_text="Length of the uploaded audio, when the portal could read it.")
    voice = models.CharField(max_length=10, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Advanced parameters moved from their default.")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempt = models.PositiveIntegerField(default=1)
    submit_tries = models.PositiveIntegerField(default=0)
    upstream_task_id = models.CharField(max_length=200, blank=True)
    upstream_status = models.CharField(max_length=20, blank=True)
    upstream_reply = models.JSONField(null=True, blank=True, help_text="The upstream's last raw reply.")
    video_url = models.URLField(max_length=2000, blank=True)
    error_category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    error_message = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(default=timezone.now)
    submitting_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    # Seconds after submission at which the latest poll still found the job running: the
    # lower end of its true duration (jobs.schedule learns from (this, done) intervals).
    last_pending_s = models.FloatField(null=True, blank=True)
    # Set by the poller that claimed this job for one round of polling (see services).
    claim_token = models.CharField(max_length=32, blank=True)

    # The archived copy of the result (jobs.archive): downloaded through the SSRF-safe
    # fetcher when the job is done, with a poster frame and the duration.
    class Archive(models.TextChoices):
        NONE = "", "Not archived"
        PENDING = "pending", "Archiving"
        ARCHIVING = "archiving", "Archiving"
        DONE = "done", "Archived"
        FAILED = "failed", "Archive failed"

    archive_status = models.CharField(max_length=10, choices=Archive.choices, blank=True, default="")
    archive_file = models.FileField(upload_to="results/", blank=True)
    poster_file = models.FileField(upload_to="posters/", blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    archive_tries = models.PositiveIntegerField(default=0)
    archive_next_at = models.DateTimeField(null=True, blank=True)
    archive_error = models.TextField(blank=True)

    # Quotas (jobs.quotas): the unit this job holds against its team's, person's and key's
    # caps, reserved under row locks when it was created (or retried), and released when
    # it failed before the upstream accepted it.
    quota_at = models.DateTimeField(null=True, blank=True)
    quota_seconds = models.FloatField(null=True, blank=True, help_text="Estimated video seconds until known.")
    quota_released = models.BooleanField(default=False)

    # Approval (jobs.approvals decides, jobs.services changes the status): why the job
    # waits, and the decision (who, when, the reviewer's comment on a rejection).
    approval_reason = models.CharField(max_length=300, blank=True)
    approval_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    approval_decided_at = models.DateTimeField(null=True, blank=True)
    approval_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # History and gallery: WHERE team_id = … ORDER BY created_at DESC, id DESC.
            models.Index(fields=["team", "-created_at", "-id"], name="job_team_created"),
            # Gallery: WHERE team_id = … AND status = 'done' ORDER BY created_at DESC.
            models.Index(fields=["team", "status", "-created_at"], name="job_team_status_created"),
            # poll_due_jobs: WHERE status IN (started, processing) AND next_poll_at <= now
            # ORDER BY next_poll_at. Partial, so it stays as small as the jobs in flight.
            models.Index(
                fields=["next_poll_at"], name="job_due_poll",
                condition=Q(status__in=["started", "processing"]),
            ),
            # reconcile: WHERE status = 'queued' AND next_poll_at < … (and submitting_at).
            models.Index(
                fields=["next_poll_at"], name="job_pending",
                condition=Q(status__in=["queued", "submitting"]),
            ),
            # archive.reconcile_archives: WHERE archive_status IN (pending, archiving)
            # AND archive_next_at < now.
            models.Index(fields=["archive_next_at"], name="job_archive_due",
                         condition=Q(archive_status__in=["pending", "archiving"])),
            # Notifications: WHERE created_by = … AND finished_at > seen_at.
            models.Index(fields=["created_by", "-finished_at"], name="job_creator_finished"),
            # poll_due_jobs, after claiming: WHERE claim_token = <this round's token>.
            models.Index(fields=["claim_token"], name="job_claimed", condition=~Q(claim_token="")),
            # Gallery placeholders (selectors.in_flight): WHERE team_id = … AND status IN
            # (queued, submitting, started, processing) ORDER BY created_at DESC, id DESC.
            # Partial: a team's few jobs in flight, never a scan of its history.
            models.Index(fields=["team", "-created_at", "-id"], name="job_team_in_flight",
                         condition=Q(status__in=["queued", "submitting", "started", "processing"])),
            # notifications.unseen_count (the header, on every page): WHERE created_by_id = …
            # AND team_id = … AND status IN (done, failed) AND finished_at > …: an
            # index-only count of the person's finished jobs.
            models.Index(fields=["created_by", "team", "finished_at"], name="job_creator_team_done",
                         condition=Q(status__in=["done", "failed"])),
            # … OR approval_decided_at > … (the person's approved or rejected jobs).
            models.Index(fields=["created_by", "team", "approval_decided_at"], name="job_creator_team_decided",
                         condition=Q(approval_decided_at__isnull=False)),
            # expected_duration: WHERE license_key_id = … AND status = 'done'
            # ORDER BY finished_at DESC LIMIT 50 (a key's recent durations).
            models.Index(fields=["license_key", "-finished_at"], name="job_key_done",
                         condition=Q(status="done")),
            # jobs.quotas: WHERE team_id | created_by_id | license_key_id = … AND quota_at >= …
            # AND NOT quota_released (count and sum of this day's / month's units).
            models.Index(fields=["team", "quota_at"], name="job_quota_team", condition=Q(quota_released=False)),
            models.Index(fields=["created_by", "quota_at"], name="job_quota_user", condition=Q(quota_released=False)),
            models.Index(fields=["license_key", "quota_at"], name="job_quota_key", condition=Q(quota_released=False)),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("jobs:detail", args=[self.code])

    @property
    def method(self) -> int:
        """NavTalk's method number ①–⑨."""
        return contract.method_for(self.visual_type, self.audio_type).number

    @property
    def method_label(self) -> str:
        return method_label(self.visual_type, self.audio_type)

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL_STATUSES

    @property
    def is_in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT_STATUSES

    @property
    def duration_seconds(self):
        end = self.finished_at or timezone.now()
        return (end - self.created_at).total_seconds()

    @property
    def hint(self) -> str:
        from .hints import hint_for

        return hint_for(self.error_category, self)

    @property
    def failure_headline(self) -> str:
        from .hints import headline_for

        return headline_for(self.error_category)


# The nine methods in the words people use ("Photo + typed text"); NavTalk's numbers
# (①–⑨) are for admins and support only (`method_number_label`).
VISUAL_WORDS = {"video": "Video", "image": "Photo", "character": "Built-in character"}
AUDIO_WORDS = {"audio_url": "audio link", "audio_base64": "audio file", "content": "typed text"}


def method_label(visual_type: str, audio_type: str) -> str:
    return f"{VISUAL_WORDS[visual_type]} + {AUDIO_WORDS[audio_type]}"


def method_number_label(visual_type: str, audio_type: str) -> str:
    method = contract.method_for(visual_type, audio_type)
    return f"{method_label(visual_type, audio_type)} (NavTalk method {method.symbol})"


class JobEvent(models.Model):
    """One line of a job's timeline: every status change, and notable non-changes."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    attempt = models.PositiveIntegerField(default=1)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status}: {self.message}"


class AppendOnlyError(Exception):
    """A code path tried to change or remove a ledger row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The usage ledger is append-only.")

    def delete(self):
        raise AppendOnlyError("The usage ledger is append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("The usage ledger is append-only.")


class UsageEntry(models.Model):
    """The usage ledger (`jobs.ledger` writes it): append-only, never updated or deleted.

    A GENERATE row for every /generate the portal sends (written before the call, so a
    call whose answer was lost still counts; automatic resubmits and a person's Retry
    count again), with the inputs' size. A RESULT row, once per job attempt, when the
    archiver learns the video's duration. Two kinds of rows rather than a duration filled
    in later: nothing is ever updated, so a row read once stays true, and the database
    can forbid UPDATE outright. team/user/key/job are kept as ids (no foreign-key
    constraint, nothing cascades): deleting a job or a person leaves its usage in place.
    """

    class Kind(models.TextChoices):
        GENERATE = "generate", "/generate sent"
        RESULT = "result", "Result duration"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    team = models.ForeignKey("accounts.Team", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                             related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             null=True, related_name="+")
    key = models.ForeignKey("keys.LicenseKey", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                            related_name="+")
    job = models.ForeignKey(Job, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+")
    attempt = models.PositiveIntegerField(default=1)
    method = models.PositiveSmallIntegerField(help_text="NavTalk's method number, 1-9.")
    audio_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="Uploaded audio sent (bytes).")
    text_chars = models.PositiveIntegerField(null=True, blank=True, help_text="Text for text-to-speech (chars).")
    video_seconds = models.FloatField(null=True, blank=True, help_text="RESULT rows: the video's duration.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # jobs.selectors.usage: WHERE team_id = … AND created_at >= … GROUP BY period, user/key.
            models.Index(fields=["team", "created_at"], name="usage_team_time"),
            # … WHERE user_id = … (a person across teams) and WHERE key_id = … (a license's spend).
            models.Index(fields=["user", "created_at"], name="usage_user_time"),
            models.Index(fields=["key", "created_at"], name="usage_key_time"),
        ]
        constraints = [
            # One duration per job attempt, however many times the archiver reports it.
            models.UniqueConstraint(fields=["job", "attempt"], condition=Q(kind="result"), name="usage_one_result"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for job {self.job_id} (attempt {self.attempt})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The usage ledger is append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The usage ledger is append-only.")


class UsageDay(models.Model):
    """The ledger summed per day, team, person and key, kept by `jobs.ledger` as it writes
    each row (an UPDATE … + 1, or the day's first INSERT): what the usage dashboard reads,
    so it costs days × people, not rows. The ledger stays the record."""

    # Plain ids (0: none), not foreign keys: nothing cascades, and the unique key has no NULLs.
    day = models.DateField()
    team_id = models.BigIntegerField()
    user_id = models.BigIntegerField(default=0)
    key_id = models.BigIntegerField(default=0)
    generates = models.PositiveIntegerField(default=0)
    video_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team_id", "day", "user_id", "key_id"],
                                               name="usageday_unique")]

    def __str__(self):
        return f"{self.day} team {self.team_id} user {self.user_id} key {self.key_id}"
