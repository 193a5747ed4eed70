"""Fault profiles: per-task latencies drawn from a lognormal (for the polling benchmark)."""

import statistics
import uuid

import pytest

from engine import faults


def test_a_latency_distribution_gives_each_task_its_own_clipped_latency():
    spec = faults.parse("mode=instant,latency=20,latency_sigma=0.45,latency_min=2,latency_max=30,seed=3")
    tasks = [uuid.UUID(int=i) for i in range(2000)]
    latencies = [faults.task_faults(spec, task)["latency"] for task in tasks]
    assert 18 < statistics.median(latencies) < 22
    assert min(latencies) >= 2 and max(latencies) == 30  # clipped at both ends
    assert latencies == [faults.task_faults(spec, task)["latency"] for task in tasks]  # reproducible
    assert {faults.task_faults(faults.parse("latency=20"), t)["latency"] for t in tasks[:10]} == {20}


@pytest.mark.parametrize("bad", ["latency_sigma=-1", "latency_min=x"])
def test_it_refuses_a_bad_distribution(bad):
    with pytest.raises(ValueError):
        faults.parse(bad)
