"""Fault injection for tests and benchmarks.

A spec is a comma-separated `key=value` string, from settings.ENGINE_FAULTS (global) or
an `EngineLicense.faults` (per license; a non-empty per-license spec replaces the
global one entirely):

    latency=10,fail_rate=0.1,rate_429=0.05,retry_after=2,rate_5xx=0.05,
    malformed_rate=0.02,never_finish_rate=0.01,backwards_rate=0.0,mode=instant,seed=7

- latency=S: no task reports done (or failed) before S seconds after creation; it
  reports `started`, then `processing` from 10% of S.
- latency_sigma=G (with latency_min=A, latency_max=B): each task's latency is drawn from a
  lognormal with median S and shape G, clipped to [A, B] (decided once per task, from a
  hash of (seed, task_id), like the other per-task faults).
- mode=render (default) renders in the Celery worker; mode=instant renders nothing and
  uses no Celery: the state is derived from the clock and the result is a ready-made clip.
- fail_rate, never_finish_rate: fraction of tasks that end failed ("Injected failure")
  or stay processing forever. Decided once per task at creation (stored on the row),
  from a hash of (seed, task_id), so a task's fate is reproducible.
- rate_429, rate_5xx, malformed_rate: fraction of HTTP calls to /generate and
  /query_status answered 429 (+ `Retry-After: retry_after`), 500/503, or a 200 whose
  body is not JSON. Decided per call, before any work (no task is created, nothing
  changes). Their sum must be at most 1.
- backwards_rate: fraction of status calls on a processing task that say `started`.
- seed: seeds the per-call RNG (else settings.ENGINE_FAULTS_SEED, else unseeded).
"""

import functools
import hashlib
import math
import random
import statistics
import threading
from dataclasses import dataclass

MODES = ("render", "instant")
_NUMBERS = ("latency", "retry_after", "latency_sigma", "latency_min", "latency_max")
_RATES = ("fail_rate", "rate_429", "rate_5xx", "malformed_rate", "never_finish_rate", "backwards_rate")


@dataclass(frozen=True)
class FaultSpec:
    latency: float = 0.0
    latency_sigma: float = 0.0
    latency_min: float = 0.0
    latency_max: float = float("inf")
    fail_rate: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    rate_5xx: float = 0.0
    malformed_rate: float = 0.0
    never_finish_rate: float = 0.0
    backwards_rate: float = 0.0
    mode: str = "render"
    seed: int | None = None

    @property
    def instant(self) -> bool:
        return self.mode == "instant"

    @property
    def has_call_faults(self) -> bool:
        return bool(self.rate_429 or self.rate_5xx or self.malformed_rate)


NO_FAULTS = FaultSpec()


@functools.lru_cache(maxsize=256)
def parse(spec: str) -> FaultSpec:
    """Parse a spec string. Raises ValueError naming the bad part."""
    values: dict = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep:
            raise ValueError(f"fault spec: {part!r} is not key=value")
        if key == "mode":
            if raw not in MODES:
                raise ValueError(f"fault spec: mode must be one of {', '.join(MODES)} (got {raw!r})")
            values[key] = raw
        elif key == "seed":
            try:
                values[key] = int(raw)
            except ValueError:
                raise ValueError(f"fault spec: seed must be an integer (got {raw!r})") from None
        elif key in (*_NUMBERS, *_RATES):
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(f"fault spec: {key} must be a number (got {raw!r})") from None
            if number != number or number < 0 or (key in _RATES and number > 1):
                limit = "from 0 to 1" if key in _RATES else "0 or more"
                raise ValueError(f"fault spec: {key} must be {limit} (got {raw!r})")
            values[key] = number
        else:
            raise ValueError(f"fault spec: unknown key {key!r}")
    result = FaultSpec(**values)
    if result.rate_429 + result.rate_5xx + result.malformed_rate > 1:
        raise ValueError("fault spec: rate_429 + rate_5xx + malformed_rate must be at most 1")
    return result


def unit(seed, kind: str, task_id) -> float:
    """A uniform number in [0, 1) fixed by (seed, kind, task_id)."""
    digest = hashlib.sha256(f"{seed}:{kind}:{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def task_faults(spec: FaultSpec, task_id, default_seed=None) -> dict:
    """The per-task fault flags, decided at creation and stored on the task."""
    seed = spec.seed if spec.seed is not None else default_seed
    fail = unit(seed, "fail", task_id) < spec.fail_rate
    never = not fail and unit(seed, "never_finish", task_id) < spec.never_finish_rate
    latency = spec.latency
    if spec.latency_sigma:
        z = statistics.NormalDist().inv_cdf(min(max(unit(seed, "latency", task_id), 1e-9), 1 - 1e-9))
        latency = min(spec.latency_max, max(spec.latency_min, spec.latency * math.exp(spec.latency_sigma * z)))
    return {"latency": latency, "instant": spec.instant, "inject_failure": fail, "never_finish": never}


_rngs: dict = {}
_rngs_lock = threading.Lock()


def rng(spec: FaultSpec, default_seed=None) -> random.Random:
    """The per-call RNG of a spec (one per spec and process; seeded when asked)."""
    seed = spec.seed if spec.seed is not None else default_seed
    key = (spec, seed)
    found = _rngs.get(key)
    if found is None:
        with _rngs_lock:
            found = _rngs.setdefault(key, random.Random(seed))
    return found


def reset_rngs() -> None:
    """Forget the per-call RNGs (tests: a seeded spec then replays from the start)."""
    with _rngs_lock:
        _rngs.clear()


def call_fault(spec: FaultSpec, default_seed=None) -> str | None:
    """'429', '500', '503', 'malformed' or None for one HTTP call."""
    if not spec.has_call_faults:
        return None
    generator = rng(spec, default_seed)
    draw = generator.random()
    if draw < spec.rate_429:
        return "429"
    draw -= spec.rate_429
    if draw < spec.rate_5xx:
        return "503" if generator.random() < 0.5 else "500"
    draw -= spec.rate_5xx
    if draw < spec.malformed_rate:
        return "malformed"
    return None


def goes_backwards(spec: FaultSpec, default_seed=None) -> bool:
    return bool(spec.backwards_rate) and rng(spec, default_seed).random() < spec.backwards_rate
