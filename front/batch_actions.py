"""What a batch does, once, for the portal's pages (front.batches) and the REST API
(api.views_batches): make it from a table, check every row (the create form's rules,
front.batch_rows), send all rows or none, retry the failed ones. The pages and the API
only turn requests into these calls and the answers into HTML or JSON."""

from django.db import transaction
from django.utils import timezone

from accounts import permissions as perms
from automation.models import Batch, BatchRow
from jobs import approvals, quotas, services, waiting
from jobs.limits import JobLimitReached
from jobs.models import Job
from keys.selection import key_for_team

from . import batch_rows

NO_KEY = "Your team has no active license key, so no video can be made yet."
HAS_ERRORS = "Nothing was sent: fix the rows with errors first."


class BatchRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create(*, team, user, name: str, columns: list[str], rows: list[dict]) -> Batch:
    """A batch from a table already read (batch_rows.read_table, or rows sent as JSON)."""
    with transaction.atomic():
        batch = Batch.objects.create(team=team, created_by=user, name=name[:200], columns=columns,
                                     mapping=batch_rows.guess_mapping(columns))
        BatchRow.objects.bulk_create([BatchRow(batch=batch, number=i, values=values)
                                      for i, values in enumerate(rows, start=1)])
    return batch


def check(batch, user) -> dict:
    """Every row checked: {"checked": [(row, form)], "invalid": n, "seconds": s, "template_problem": "…"}
    (seconds: the typed text's estimated video seconds the quota will count)."""
    checked = batch_rows.validate(batch, list(batch.rows.all()), user)
    texts = [form.cleaned_data.get("content") or "" for _, form in checked if not form.errors]
    return {"checked": checked, "invalid": sum(1 for _, form in checked if form.errors),
            "seconds": sum(quotas.estimate_seconds(Job.Audio.TEXT if text else "", text) for text in texts),
            "template_problem": batch_rows.template_problem(batch.template, batch.columns)}


def submit(batch, user) -> list[Job]:
    """Create every row's job, all or none (jobs.waiting.create_all: one action against
    the per-minute limits, each row against the quotas, rows sent as the in-flight limits
    leave room). Raises BatchRefused, in words for a person, when nothing was sent."""
    if batch.submitted_at:
        raise BatchRefused("This batch was already sent.")
    result = check(batch, user)
    if result["invalid"] or result["template_problem"]:
        raise BatchRefused(HAS_ERRORS)
    key = key_for_team(batch.team)
    if key is None:
        raise BatchRefused(NO_KEY)
    checked = result["checked"]
    try:
        with transaction.atomic():
            if not Batch.objects.filter(pk=batch.pk, submitted_at=None).update(submitted_at=timezone.now()):
                raise BatchRefused("This batch was already sent.")  # a concurrent submit won
            jobs = waiting.create_all(team=batch.team, user=user, license_key=key,
                                      policy=approvals.policy_for(batch.team, user),  # read once for all rows
                                      rows=[form.job_inputs() for _, form in checked])
            for (row, _), job in zip(checked, jobs, strict=True):
                row.job = job
            BatchRow.objects.bulk_update([row for row, _ in checked], ["job"])
    except JobLimitReached as exc:
        raise BatchRefused(f"Nothing was sent: {exc.message}") from None
    batch.submitted_at = timezone.now()
    return jobs


def retry_failed(batch, user, role) -> tuple[int, str]:
    """Send the failed and canceled rows the person may retry again: (how many, the
    limit's words if one stopped it). Like a new batch's rows they wait their turn behind
    the in-flight limits (jobs.waiting): the ones there is room for are sent at once, the
    rest as jobs end."""
    sent = 0
    try:
        for row in batch.rows.select_related("job").filter(job__status__in=[Job.Status.FAILED,
                                                                             Job.Status.CANCELED]):
            if not perms.allowed(role, perms.RETRY_JOB, user=user, job=row.job):
                continue
            try:
                sent += services.job_retry(row.job, user, waits_turn=True)
            except JobLimitReached as exc:
                return sent, exc.message
    finally:
        if sent:
            waiting.release(batch.team_id)
    return sent, ""
