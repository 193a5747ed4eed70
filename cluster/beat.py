"""One effective Celery beat, however many run (CELERY_BEAT_SCHEDULER points here).

Several `celery beat` processes may run, on several machines, for availability; only the
one holding the database lease "celery-beat" (cluster.leases: compare-and-swap) sends
tasks. The holder renews it every BEAT_LEASE_SECONDS / 3; the others try to take it just
as often. A holder that dies (SIGKILL, machine lost) stops renewing, so another beat
takes over at most BEAT_LEASE_SECONDS + BEAT_LEASE_SECONDS / 3 later (13.3 s by default);
one that stops cleanly releases it at once. A beat that cannot reach the database stops
sending until it can (and then another may hold the lease). Each beat keeps its own
schedule file; the one that takes over sends whatever is due at once, which is harmless
here (the poller and the reconciler claim their work by compare-and-swap).
"""

import logging
import time

from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)
LEASE = "celery-beat"


class LeaderScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs):
        self.leader = False
        self._next_check = 0.0
        self.holder = ""
        super().__init__(*args, **kwargs)

    @staticmethod
    def lease_seconds() -> float:
        from django.conf import settings

        return float(settings.BEAT_LEASE_SECONDS)

    def _check(self) -> None:
        """Take or renew the lease when it is time to; note whether we hold it."""
        if time.monotonic() < self._next_check:
            return
        import django
        from django.apps import apps

        if not apps.ready:
            django.setup()
        from django.db import close_old_connections, connection

        from .leases import acquire, holder_of, new_holder

        self.holder = self.holder or new_holder()
        seconds = self.lease_seconds()
        try:
            close_old_connections()
            leader = acquire(LEASE, self.holder, seconds)
            other = None if leader else holder_of(LEASE)
        except Exception as exc:  # the database is away: send nothing until it answers
            log.warning("beat: cannot reach the database to hold the %s lease (%s); not scheduling",
                        LEASE, exc.__class__.__name__)
            connection.close()
            leader, other = False, None
        if leader and not self.leader:
            log.warning("beat: %s holds the %s lease: this beat schedules now", self.holder, LEASE)
        elif not leader and (self.leader or not self._next_check):
            log.warning("beat: %s stands by (the %s lease is held by %s)", self.holder, LEASE, other or "nobody")
        self.leader = leader
        self._next_check = time.monotonic() + seconds / 3

    def tick(self, *args, **kwargs):
        self._check()
        until_check = max(0.05, self._next_check - time.monotonic())
        if not self.leader:
            return until_check
        return min(super().tick(*args, **kwargs), until_check)

    def close(self):
        try:
            super().close()
        finally:
            if self.leader:
                try:
                    from .leases import release

                    release(LEASE, self.holder)
                    log.warning("beat: %s released the %s lease", self.holder, LEASE)
                except Exception:  # the lease will lapse by itself
                    log.warning("beat: could not release the %s lease; it lapses in %ss", LEASE,
                                self.lease_seconds())
                self.leader = False
