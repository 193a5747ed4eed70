"""A scriptable NavTalk on loopback (the `upstream` fixture of tests/conftest.py).

By default /generate answers `started` with task ids t-1, t-2, … and /query_status
answers `processing`; with `latency`, tasks answer processing until `latency` seconds
after their /generate, then done, and unknown task ids get 404 (like NavTalk). Tests
push the next replies per endpoint with `script`, and read what was sent with `calls`.
"""

import threading
import time
from collections import deque

from tests.support.http import LoopbackServer, Reply, Request


class TestUpstream(LoopbackServer):
    __test__ = False  # not a test class

    def __init__(self, latency: float | None = None):
        self.latency = latency
        self.created: dict[str, float] = {}
        self.requests: list[dict] = []
        self.scripts = {"generate": deque(), "query_status": deque()}
        self.default_status = {"status": "processing"}
        self.lock = threading.Lock()
        self._counter = 0
        super().__init__(self._respond)
        self.generate_url = self.url + "/generate"
        self.query_status_url = self.url + "/query_status"

    def _respond(self, request: Request) -> Reply:
        if request.method == "POST":
            endpoint = "generate"
            record = {"endpoint": endpoint, "path": request.path, "json": request.json,
                      "content_type": request.headers.get("Content-Type")}
        else:
            endpoint = "query_status"
            record = {"endpoint": endpoint, "path": request.path, "query": request.query}
        with self.lock:
            self.requests.append(record)
            reply = self.scripts[endpoint].popleft() if self.scripts[endpoint] else None
            if reply is None:
                reply = self._default(endpoint, record)
        return reply

    def _default(self, endpoint: str, record: dict) -> Reply:
        if endpoint == "generate":
            self._counter += 1
            task_id = f"t-{self._counter}"
            self.created[task_id] = time.monotonic()
            return Reply(body={"status": "started", "task_id": task_id})
        if self.latency is None:
            return Reply(body=self.default_status)
        created = self.created.get(record["query"].get("task_id"))
        if created is None:
            return Reply(status=404, body={"status": "error", "message": "Task not found"})
        if time.monotonic() - created >= self.latency:
            return Reply(body={"status": "done", "video_url": "https://cdn.example/v.mp4"})
        return Reply(body={"status": "processing"})

    def script(self, endpoint: str, *replies: Reply):
        with self.lock:
            self.scripts[endpoint].extend(replies)

    def calls(self, endpoint: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["endpoint"] == endpoint]
