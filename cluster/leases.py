"""Leases in the database: what several machines use to agree that one of them does
something (the one effective Celery beat, fetching a voice sample once).

`acquire(name, holder, seconds)` takes a lease that is free, expired, or already ours,
by compare-and-swap (a conditional UPDATE, or the INSERT that creates the row; the
primary key decides a race), and sets it to expire `seconds` from now. A holder that
dies stops renewing, so its lease lapses within `seconds` and another may take it.
Machines' clocks must agree to well under a lease's length (NTP).

Written here rather than taken from a library: django-celery-beat and celery-redbeat
replace the whole schedule store (a database or Redis) and still need a lock of their
own; this is one table and three statements, and works on SQLite and PostgreSQL alike.
"""

import os
import socket
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Lease


class LeaseBusy(Exception):
    """Raised by `held` when the lease stayed taken for the whole wait."""


def new_holder() -> str:
    """An id unique to this process (and this call): host, pid, random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease; True when `holder` holds it for the next `seconds`."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    if Lease.objects.filter(Q(holder=holder) | Q(expires__lt=now), name=name).update(holder=holder, expires=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires=until)
    except IntegrityError:  # the row exists and someone else holds it (or just took it)
        return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up at once (only if `holder` still holds it)."""
    Lease.objects.filter(name=name, holder=holder).delete()


def holder_of(name: str) -> str | None:
    """Who holds the lease now, or None when it is free or expired."""
    return Lease.objects.filter(name=name, expires__gte=timezone.now()).values_list("holder", flat=True).first()


@contextmanager
def held(name: str, *, seconds: float, wait: float, poll: float = 0.1):
    """Hold the lease for the body: wait up to `wait` seconds for it (LeaseBusy after
    that), release it after. The body must finish within `seconds`."""
    holder = new_holder()
    deadline = time.monotonic() + wait
    while not acquire(name, holder, seconds):
        if time.monotonic() >= deadline:
            raise LeaseBusy(name)
        time.sleep(poll)
    try:
        yield holder
    finally:
        release(name, holder)
