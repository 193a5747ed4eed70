"""cluster.leases: a named lease in the database, taken by compare-and-swap."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from cluster.leases import LeaseBusy, acquire, held, holder_of, release
from cluster.models import Lease

pytestmark = pytest.mark.django_db


def test_one_holder_at_a_time_until_it_expires():
    assert acquire("job", "a", 30)
    assert not acquire("job", "b", 30)
    assert acquire("job", "a", 30)  # renewing is taking it again
    assert holder_of("job") == "a"
    Lease.objects.filter(name="job").update(expires=timezone.now() - timedelta(seconds=1))  # a lapsed
    assert holder_of("job") is None
    assert acquire("job", "b", 30)
    assert not acquire("job", "a", 30)
    assert holder_of("job") == "b"


def test_release_frees_it_only_for_its_holder():
    assert acquire("job", "a", 30)
    release("job", "b")
    assert holder_of("job") == "a"
    release("job", "a")
    assert acquire("job", "b", 30)


def test_held_waits_for_the_lease_and_gives_up_after_its_wait():
    assert acquire("sample", "someone", 30)
    with pytest.raises(LeaseBusy):
        with held("sample", seconds=5, wait=0.3):
            pytest.fail("the lease was held by someone else")
    release("sample", "someone")
    with held("sample", seconds=5, wait=0.3) as me:
        assert holder_of("sample") == me
    assert holder_of("sample") is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_on_their_own_connections_get_it_once():
    results = []
    barrier = threading.Barrier(6)

    def take(i):
        from django.db import connection

        barrier.wait()
        try:
            results.append(acquire("race", f"t{i}", 30))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
