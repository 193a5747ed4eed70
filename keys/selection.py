"""Which license key a team's next job uses: the one place that decides it.

A team's keys are tried in their order (`TeamKey.position`); a key is skipped when it is
disabled, when the upstream refused it (auth) less than AUTH_FAILURE_HOLD ago
(`LicenseKey.auth_failed_at`, set by `jobs.submit` through `mark_auth_failed`), or when
it has used its monthly budget (`spent(key)`: seconds of video this month, which the
jobs layer knows and passes in). A job keeps the key that accepted it.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import LicenseKey, TeamKey

# A refused key is tried again after this long (a fixed secret, a renewed plan).
AUTH_FAILURE_HOLD = timedelta(minutes=15)


def usable_keys(team, *, spent=None, now=None):
    """The team's keys that a new job may use, in order."""
    now = now or timezone.now()
    entries = (TeamKey.objects.select_related("key").filter(team=team, key__is_active=True)
               .filter(Q(key__auth_failed_at__isnull=True) | Q(key__auth_failed_at__lt=now - AUTH_FAILURE_HOLD))
               .order_by("position", "id"))
    for entry in entries:
        budget = entry.key.monthly_budget_seconds
        if budget is not None and spent is not None and spent(entry.key) >= budget:
            continue
        yield entry.key


def key_for_team(team, *, spent=None) -> LicenseKey | None:
    """The team's first usable key in its order, or None when it has none."""
    return next(usable_keys(team, spent=spent), None)


def key_states(team, *, spent=None, now=None) -> list[tuple[LicenseKey, str]]:
    """Each of the team's keys, in order, with why it is (not) used: for the Team page."""
    now = now or timezone.now()
    states, in_use = [], False
    for entry in TeamKey.objects.select_related("key").filter(team=team).order_by("position", "id"):
        key = entry.key
        budget = key.monthly_budget_seconds
        if not key.is_active:
            state = "Disabled by an admin."
        elif key.auth_failed_at and key.auth_failed_at >= now - AUTH_FAILURE_HOLD:
            state = "Refused by the video service (license not accepted); skipped until an admin fixes it."
        elif budget is not None and spent is not None and spent(key) >= budget:
            state = "Used its budget for this month; skipped until the 1st."
        else:
            state = "Standby: used if the keys above cannot be." if in_use else "In use for new videos."
            in_use = True
        states.append((key, state))
    return states


def mark_auth_failed(key: LicenseKey) -> bool:
    """Note that the upstream refused `key`. True the first time (not already noted
    within AUTH_FAILURE_HOLD): the caller tells the team's admins then, once."""
    now = timezone.now()
    fresh = Q(auth_failed_at__isnull=True) | Q(auth_failed_at__lt=now - AUTH_FAILURE_HOLD)
    return LicenseKey.objects.filter(fresh, pk=key.pk).update(auth_failed_at=now) == 1


def assign_key(team, key: LicenseKey, *, position: int = 0) -> TeamKey:
    """Give `team` the use of `key` at `position` (idempotent)."""
    entry, created = TeamKey.objects.get_or_create(team=team, key=key, defaults={"position": position})
    if not created and entry.position != position:
        TeamKey.objects.filter(pk=entry.pk).update(position=position)
        entry.position = position
    return entry


def use_only(team, key: LicenseKey) -> None:
    """Make `key` the team's one and only key (what a single-key team's admin does)."""
    TeamKey.objects.filter(team=team).exclude(key=key).delete()
    assign_key(team, key, position=0)
