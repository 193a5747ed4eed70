"""Which jobs wait for a team admin's approval (issue 11.7), and the list they wait in.

A team's owners and admins may ask, on the Team page, that
- videos longer than `Team.approval_over_seconds` (seconds of speech) wait for approval:
  typed text by `quotas.estimate_seconds` (its length at 15 characters a second), an
  uploaded audio file by its real length (`Job.audio_seconds`, read at upload). When the
  length is not known before the video is made (an audio link, or an upload whose length
  could not be read), the job waits too: an unknown length could be anything up to
  MEDIA_MAX_AUDIO_SECONDS, and the rule exists to stop long videos being billed unseen;
- every video of chosen members waits (`Membership.requires_approval`).
Videos made or retried by an owner or admin never wait (they would approve them
themselves). `policy_for` reads what the rules need in one query, so a batch reads it
once for all its rows (`services.job_create(policy=…)`); `reasons` is then pure.

The status changes themselves (approve → QUEUED, reject → REJECTED) are
`jobs.services.job_approve` / `job_reject`, like every transition.
"""

from dataclasses import dataclass

from accounts.models import Membership
from accounts.permissions import MANAGERS

from .models import Job
from .quotas import estimate_seconds


@dataclass(frozen=True)
class Policy:
    over_seconds: int | None = None  # the team's length rule (None: none)
    member_flagged: bool = False  # this member's every video waits
    exempt: bool = False  # the person acting is an owner or admin

    @property
    def active(self) -> bool:
        return not self.exempt and (self.over_seconds is not None or self.member_flagged)


NO_APPROVAL = Policy()


def policy_for(team, creator, actor=None) -> Policy:
    """The rules for a job of `creator` in `team`, created or retried by `actor` (default:
    the creator). One query (two when someone else acts)."""
    row = (Membership.objects.filter(team_id=team.pk, user_id=creator.pk)
           .values("role", "requires_approval", "team__approval_over_seconds").first())
    if row is None:
        return NO_APPROVAL
    exempt = row["role"] in MANAGERS
    if actor is not None and actor.pk != creator.pk:
        exempt = Membership.objects.filter(team_id=team.pk, user_id=actor.pk, role__in=MANAGERS).exists()
    return Policy(over_seconds=row["team__approval_over_seconds"], member_flagged=row["requires_approval"],
                  exempt=exempt)


def _length(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def length_of(audio_type: str, content: str, audio_seconds: float | None) -> float | None:
    """Seconds of speech the video will have, or None when not known before it is made."""
    if audio_type == Job.Audio.TEXT:
        return estimate_seconds(audio_type, content)
    return audio_seconds


def reasons(policy: Policy, *, creator_name: str, audio_type: str, content: str = "",
            audio_seconds: float | None = None) -> str:
    """Why such a job waits, in plain words ('' : it does not)."""
    if not policy.active:
        return ""
    why = []
    if policy.over_seconds is not None:
        length = length_of(audio_type, content, audio_seconds)
        limit = _length(policy.over_seconds)
        if length is None:
            what = "linked audio" if audio_type == Job.Audio.URL else "uploaded audio"
            why.append(f"the length of its {what} is not known before the video is made, and the team asks for "
                       f"approval of videos over {limit}")
        elif length > policy.over_seconds:
            why.append(f"it is about {_length(length)} long, over the team's {limit} without approval")
    if policy.member_flagged:
        why.append(f"the team asks for approval of every video by {creator_name}")
    return "; and ".join(why)[:300]


def waiting(team):
    """The team's jobs awaiting approval, oldest first (the `job_team_status_created` index)."""
    return (Job.objects.filter(team=team, status=Job.Status.AWAITING_APPROVAL).select_related("created_by")
            .order_by("created_at", "id"))


def waiting_count(team, cap: int = 100) -> int:
    """How many wait (at most `cap`): the header shows it to owners and admins on every
    page, so it is one count over the `job_team_status_created` index, stopping at `cap`."""
    return Job.objects.filter(team=team, status=Job.Status.AWAITING_APPROVAL).order_by()[:cap].count()


def approvers(team) -> list[str]:
    """Names of the people who may approve (the team's owners and admins)."""
    return list(Membership.objects.filter(team=team, role__in=MANAGERS).order_by("user__username")
                .values_list("user__username", flat=True))
