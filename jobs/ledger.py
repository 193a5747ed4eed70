"""Writing the usage ledger (`UsageEntry`): the only code that does.

`record_generate` is called by `jobs.submit.job_submit` right before each /generate it
sends (so every call counts, also one whose answer was lost, an automatic resubmit and
a person's Retry); `record_result` by the archiver once it knows the video's duration.
Each row is also added to its day's `UsageDay` (what the dashboard reads). Reading:
`jobs.selectors.usage` (the ledger itself) and `usage_by_day` (the daily sums).
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import Job, UsageDay, UsageEntry


def _audio_bytes(job: Job) -> int | None:
    if job.audio_type != Job.Audio.FILE or not job.audio_file:
        return None
    try:
        return job.audio_file.size
    except OSError:
        return None


def _add_to_day(entry: UsageEntry, generates: int, seconds: float) -> None:
    """Add to the day's UsageDay row: an UPDATE, or the day's first INSERT (a concurrent
    first insert loses on the unique key and updates instead)."""
    ids = dict(day=timezone.localdate(entry.created_at), team_id=entry.team_id or 0, user_id=entry.user_id or 0,
               key_id=entry.key_id or 0)
    changes = dict(generates=F("generates") + generates, video_seconds=F("video_seconds") + seconds)
    if UsageDay.objects.filter(**ids).update(**changes):
        return
    try:
        with transaction.atomic():
            UsageDay.objects.create(**ids, generates=generates, video_seconds=seconds)
    except IntegrityError:
        UsageDay.objects.filter(**ids).update(**changes)


def record_generate(job: Job, key) -> UsageEntry:
    entry = UsageEntry.objects.create(
        kind=UsageEntry.Kind.GENERATE, team_id=job.team_id, user_id=job.created_by_id, key_id=key.pk,
        job_id=job.pk, attempt=job.attempt, method=job.method, audio_bytes=_audio_bytes(job),
        text_chars=len(job.content) if job.audio_type == Job.Audio.TEXT else None)
    _add_to_day(entry, 1, 0.0)
    return entry


def record_result(job: Job, duration: float | None) -> None:
    """The result's duration, once per job attempt (a repeated report adds nothing)."""
    if duration is None:
        return
    entry = UsageEntry(kind=UsageEntry.Kind.RESULT, team_id=job.team_id, user_id=job.created_by_id,
                       key_id=job.license_key_id, job_id=job.pk, attempt=job.attempt, method=job.method,
                       video_seconds=duration, created_at=timezone.now())
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return  # this attempt's duration is already recorded
    _add_to_day(entry, 0, duration)
