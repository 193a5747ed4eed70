"""Jobs that wait their turn. A batch's rows are all created at once (all or nothing
against the quotas, one action against the per-minute limits), but a thousand of them
must not be sent at once past JOB_MAX_IN_FLIGHT_PER_USER / _PER_TEAM: they are created
QUEUED with no due time (`limits.WAITING`), which the reconciler and the in-flight counts
leave alone, and `release` sends the oldest as those limits leave room.

`release(team_id)` runs after a batch is created, whenever one of the team's jobs ends
(a JobEvent to done, failed or canceled, heard here), and from the reconciler's sweep
(`release_all`), so a lost message only delays a waiting job.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Team

from . import limits, tasks
from .dispatch import publish_on_commit
from .models import Job, JobEvent

ENDED = {Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELED}


def create_all(*, team, user, license_key, rows: list[dict], **options) -> list[Job]:
    """Create one job per row (the create form's cleaned inputs) in one transaction: all
    or none. One action against the per-minute limits (checked once, the rows share their
    creation instant); each row takes its quota units (services.job_create checks each,
    so the batch is refused whole at a cap); the rows wait their turn and the ones the
    in-flight limits leave room for are sent once the transaction commits."""
    from . import services

    with transaction.atomic():
        limits.lock(team, user)
        limits.check(team, user, with_in_flight=False)
        now = timezone.now()
        jobs = [services.job_create(team=team, user=user, license_key=license_key, waits_turn_at=now, **options,
                                    **inputs) for inputs in rows]
        release(team.pk)
        held = [job.pk for job in jobs if job.status == Job.Status.AWAITING_APPROVAL]
        if held:  # one email to the team's admins for the whole batch
            publish_on_commit(tasks.notify_approval_needed, held)
    return jobs


def release(team_id: int) -> int:
    """Send the team's oldest waiting jobs that the in-flight limits have room for
    (person by person, oldest first); returns how many. Serialised per team by its row lock."""
    from . import services

    max_user, max_team = settings.JOB_MAX_IN_FLIGHT_PER_USER, settings.JOB_MAX_IN_FLIGHT_PER_TEAM
    released = []
    with transaction.atomic():
        list(Team.objects.select_for_update().filter(pk=team_id).values_list("pk"))
        waiting = Job.objects.filter(limits.WAITING, team_id=team_id)
        people = [row["created_by"] for row in waiting.order_by().values("created_by")
                  .annotate(first=Min("created_at")).order_by("first")]
        if not people:
            return 0
        team_free = max_team - limits.in_flight(Job.objects.filter(team_id=team_id)).count() if max_team else None
        now = timezone.now()
        for user_id in people:
            free = max_user - limits.in_flight(Job.objects.filter(created_by_id=user_id)).count() if max_user else None
            if team_free is not None:
                free = team_free if free is None else min(free, team_free)
            if free is not None and free <= 0:
                continue
            ids = list(waiting.filter(created_by_id=user_id).order_by("created_at", "pk")
                       .values_list("pk", flat=True)[:free])
            Job.objects.filter(limits.WAITING, pk__in=ids).update(next_poll_at=now, queued_at=now)
            released += ids
            if team_free is not None:
                team_free -= len(ids)
        for pk in released:
            services.dispatch_submit(pk)  # after commit
    return len(released)


def release_all() -> int:
    """The reconciler's sweep: every team with waiting jobs."""
    teams = Job.objects.filter(limits.WAITING).order_by().values_list("team_id", flat=True).distinct()
    return sum(release(team_id) for team_id in list(teams))


@receiver(post_save, sender=JobEvent, dispatch_uid="jobs-waiting-release")
def _job_event_saved(sender, instance, created, **kwargs):
    if created and instance.to_status in ENDED:
        transaction.on_commit(lambda: _after_end(instance.job_id))


def _after_end(job_id: int) -> None:
    team_id = Job.objects.filter(pk=job_id).values_list("team_id", flat=True).first()
    if team_id is not None and Job.objects.filter(limits.WAITING, team_id=team_id).exists():
        release(team_id)
