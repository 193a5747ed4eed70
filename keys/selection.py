"""Which license key a team's next job uses: the one place that decides it."""

from .models import LicenseKey, TeamKey


def key_for_team(team) -> LicenseKey | None:
    """The team's first active key in its order, or None when it has none."""
    entry = (TeamKey.objects.select_related("key").filter(team=team, key__is_active=True)
             .order_by("position", "id").first())
    return entry.key if entry else None


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
