"""Shared fixtures and helpers of the engine's HTTP API tests (tests/engine/test_api_*.py):
the engine in instant mode on the live server, a `requests` client for NavTalk's two
calls, links served on loopback, a real filesystem broker, licenses with fault profiles."""

import base64
import io
import time
import wave

import requests

from engine.models import EngineLicense

ALICE = "sk-engine-alice-0123456789SECRET"
BOB = "sk-engine-bob-9876543210SECRET"
LEO = "navtalk.Leo"

# --- fixtures and helpers -------------------------------------------------------------

def wav_bytes(seconds=0.5, rate=16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Api:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()

    def generate(self, body=None, raw=None, **fields):
        if raw is not None:
            return self.session.post(self.base + "/generate", data=raw,
                                     headers={"Content-Type": "application/json"}, timeout=30)
        payload = {"license": ALICE, **fields} if body is None else body
        return self.session.post(self.base + "/generate", json=payload, timeout=30)

    def status(self, task_id, license=ALICE):
        return self.session.get(self.base + "/query_status", params={"license": license, "task_id": task_id},
                                timeout=30)

    def stats(self, license=ALICE):
        return self.session.get(self.base + "/stats", params={"license": license}, timeout=30)


def _reset_producers(app):
    """Make Celery open new connections with the current broker settings."""
    app._pool = None
    app.amqp._producer_pool = None


def license_with(faults_spec: str, name="bench") -> str:
    _, secret = EngineLicense.issue(name, faults=faults_spec)
    return secret


def poll(api, task_id, until=("done", "failed"), timeout=10.0, license=ALICE):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.status(task_id, license).json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in until:
            return body, seen
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} stuck; statuses seen: {seen}")


GOOD = {"character_name": LEO, "content": "Welcome to NavTalk.", "voice": "nova"}


def _without(*keys, **extra):
    body = {k: v for k, v in GOOD.items() if k not in keys}
    body.update(extra)
    return body
