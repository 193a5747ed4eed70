"""One scriptable HTTP server on loopback for every test that needs a peer: a fake
NavTalk upstream, a link that serves (or drips, or redirects) a file, a second host to
redirect to. Real sockets, real HTTP; the tests script what it answers.

- `Reply`: one answer (status, JSON body or raw bytes, headers, a delay before it, or a
  body dripped byte by byte).
- `LoopbackServer(respond)`: serves every request with `respond(request) -> Reply`,
  where `request` is a `Request` (method, path, query, headers, body, json).
- `Routes`: a LoopbackServer answering from a path -> Reply table (404 otherwise), for
  links that the fetchers download.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Reply:
    def __init__(self, status=200, body=None, headers=None, raw: bytes | None = None, delay: float = 0,
                 drip: float = 0, content_type: str = "application/json"):
        # drip: seconds between the body's bytes (a slow body), after the headers.
        self.status, self.body, self.headers, self.raw, self.delay = status, body, headers or {}, raw, delay
        self.drip, self.content_type = drip, content_type

    def send(self, handler: BaseHTTPRequestHandler) -> None:
        """Write this reply as `handler`'s response (a client that hung up is fine)."""
        data = self.raw if self.raw is not None else json.dumps(self.body).encode()
        try:
            handler.send_response(self.status)
            if "Content-Type" not in self.headers:
                handler.send_header("Content-Type", self.content_type)
            if "Content-Length" not in self.headers:
                handler.send_header("Content-Length", str(len(data)))
            for k, v in self.headers.items():
                handler.send_header(k, v)
            handler.end_headers()
            if handler.command == "HEAD":
                return
            if not self.drip:
                handler.wfile.write(data)
            for i in range(len(data) if self.drip else 0):
                handler.wfile.write(data[i:i + 1])
                handler.wfile.flush()
                threading.Event().wait(self.drip)
        except (BrokenPipeError, ConnectionResetError):
            pass


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes = b""
    json: object = field(default=None)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 and a spare port, answering with `respond`."""

    def __init__(self, respond, *, http11: bool = False, after=None, backlog: int = 64):
        """`after(request, reply)`, if given, runs once the reply was sent (or failed)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if http11 else "HTTP/1.0"

            def log_message(self, *args):
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    decoded = json.loads(body) if body else None
                except ValueError:
                    decoded = None
                request = Request(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  dict(self.headers), body, decoded)
                reply = server.respond(request)
                try:
                    if reply.delay:
                        threading.Event().wait(reply.delay)
                    reply.send(self)
                finally:
                    if after is not None:
                        after(request, reply)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

        self.respond = respond
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": backlog})
        self.httpd = server_class(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def allowed(self) -> tuple[str, ...]:
        """This server's exact origin, as the fetchers' allow-lists take it."""
        return (self.url,)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def raw(body: bytes, status: int = 200, headers: dict | None = None, delay: float = 0, drip: float = 0) -> Reply:
    """A reply of raw bytes (a file, a page, an empty redirect)."""
    return Reply(status, raw=body, headers=headers, delay=delay, drip=drip, content_type="application/octet-stream")


class Routes(LoopbackServer):
    """Answers GET/HEAD from a path -> Reply table; anything else is a 404."""

    def __init__(self, routes: dict | None = None):
        self.routes: dict[str, Reply] = dict(routes or {})
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        super().__init__(self._respond)

    def _respond(self, request: Request) -> Reply:
        with self._lock:
            self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return self.routes.get(request.path, Reply(404, raw=b"not found", content_type="text/plain"))

    def add(self, path: str, body: bytes, status: int = 200, headers: dict | None = None, drip: float = 0.0) -> str:
        self.routes[path] = raw(body, status, headers, drip=drip)
        return self.url + path
