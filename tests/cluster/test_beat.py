"""One effective Celery beat (cluster.beat.LeaderScheduler) with real `celery beat`
processes on the test database and broker: of two beats only the lease holder sends
tasks; SIGKILL it and the other takes over; a beat stopped cleanly hands over at once."""

import signal
import sys
import uuid

import pytest

from bench.processes import Proc, process_env, purge_broker, wait_until
from cluster.beat import LEASE
from cluster.leases import holder_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SENDING = "Scheduler: Sending due task"


def start_beat(env, log_dir) -> Proc:
    """`celery beat` at DEBUG, so each task it sends is in its log."""
    proc = Proc("beat", [sys.executable, "-m", "celery", "-A", "navtalk_portal", "beat", "-s",
                         str(log_dir / f"beat-{uuid.uuid4().hex[:6]}"), "--loglevel", "DEBUG"], env, log_dir)
    proc.wait_for("beat: Starting")
    return proc


def sends(proc) -> int:
    return proc.output().count(SENDING)


def test_only_the_lease_holder_schedules_and_another_takes_over(tmp_path):
    purge_broker()
    env = process_env(BEAT_LEASE_SECONDS="2", POLL_INTERVAL_SECONDS="0.5")
    first = start_beat(env, tmp_path)
    procs = [first]
    try:
        wait_until(lambda: "this beat schedules now" in first.output(), 30, message="the first beat leads")
        second = start_beat(env, tmp_path)
        procs.append(second)
        wait_until(lambda: "stands by" in second.output(), 30, message="the second beat stands by")
        before = sends(first)
        wait_until(lambda: sends(first) >= before + 6, 30, message="the leader keeps sending")
        assert sends(second) == 0 and "schedules now" not in second.output()
        assert holder_of(LEASE) in first.output()

        first.signal(signal.SIGKILL)
        first.popen.wait(10)
        wait_until(lambda: "this beat schedules now" in second.output(), 30, message="the second beat takes over")
        wait_until(lambda: sends(second) >= 2, 30, message="the second beat sends")
        assert holder_of(LEASE) in second.output()

        third = start_beat(env, tmp_path)
        procs.append(third)
        wait_until(lambda: "stands by" in third.output(), 30, message="a new beat stands by")
        second.stop()  # SIGTERM: it releases the lease as it goes
        assert "released the celery-beat lease" in second.log_path.read_text()
        wait_until(lambda: "this beat schedules now" in third.output(), 30, message="the new beat takes over")
    except BaseException:
        for proc in procs:
            print(proc.name, proc.log_path.read_text()[-3000:])
        raise
    finally:
        for proc in reversed(procs):
            proc.stop()
        purge_broker()
