"""Create-form submissions per second through gunicorn on loopback.

    .venv/bin/python bench/submit.py [--clients 8] [--procs 4] [--seconds 10] [--runs 3]
                                     [--workers 4] [--threads 8]

Starts gunicorn (navtalk_portal.wsgi with gunicorn.conf.py) on a spare loopback port,
on the configured database and broker (meant for Postgres + Redis: DATABASE_URL and
REDIS_URL). Each client is one browser-like session on one keep-alive connection: it
GETs the login page (CSRF cookie + token), logs in once, GETs the create page for the
form's CSRF token, then POSTs character + text submissions back to back, following no
redirect (a 302 to the job's page is a success; anything else is an error). No Celery
worker runs: the submit_job messages are left in the broker and purged afterwards.
Clients run in --procs processes. The last line gives the medians over runs.
"""

import argparse
import http.client
import multiprocessing
import re
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "submit-benchmark-pw-1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent sessions in total")
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    return parser.parse_args()


class Session:
    """One keep-alive connection with a cookie jar."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Referer": f"http://127.0.0.1:{self.port}{path}"})
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed the keep-alive connection (max_requests): reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data.decode(errors="replace")

    def token(self, path: str) -> str:
        status, html = self.request("GET", path)
        match = TOKEN.search(html)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return match.group(1)


def client(port: int, username: str, seconds: float, start_at: float, results: list) -> None:
    ok = errors = 0
    session = Session(port)
    token = session.token("/login/")
    status, _ = session.request("POST", "/login/", {"csrfmiddlewaretoken": token, "username": username,
                                                   "password": PASSWORD, "next": "/"})
    if status != 302:
        raise RuntimeError(f"login failed: {status}")
    token = session.token("/")  # the create page's form token, used for every submission
    form = {"csrfmiddlewaretoken": token, "visual_source": "character", "character": "navtalk.Leo",
            "audio_source": "content", "content": "Hello from the submit benchmark.", "voice": "nova",
            "title": "Submit benchmark"}
    while time.time() < start_at:
        time.sleep(0.001)
    stop = start_at + seconds
    while time.time() < stop:
        try:
            status, _ = session.request("POST", "/", form)
        except Exception:
            errors += 1
            continue
        if status == 302:
            ok += 1
        else:
            errors += 1
    results.append((ok, errors))


def client_process(port, usernames, seconds, start_at, queue):
    results: list = []
    threads = [threading.Thread(target=client, args=(port, name, seconds, start_at, results)) for name in usernames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def run_once(port, usernames, procs: int, seconds: float) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 3.0  # logins and token fetches happen before the clock starts
    groups = [usernames[i::procs] for i in range(procs)]
    workers = [ctx.Process(target=client_process, args=(port, group, seconds, start_at, queue))
               for group in groups if group]
    for worker in workers:
        worker.start()
    results = [item for _ in workers for item in queue.get(timeout=seconds + 120)]
    for worker in workers:
        worker.join()
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return {"submissions": ok, "errors": errors, "seconds": seconds, "per_s": ok / seconds}


def main():
    args = parse_args()
    port = c.free_port()
    env = c.setup("submit", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Team
    from jobs.models import Character, Job
    from keys.models import LicenseKey
    from keys.selection import assign_key

    if not Character.objects.filter(name="navtalk.Leo", is_active=True).exists():
        raise SystemExit("the character catalog is empty: run migrations")
    tag = uuid.uuid4().hex[:6]
    key = LicenseKey(name=f"submit {tag}", generate_url="http://127.0.0.1:9/generate",
                     query_status_url="http://127.0.0.1:9/query_status")
    key.secret = "sk-submit-benchmark-000000"
    key.save()
    team = Team.objects.create(name=f"submit {tag}")
    assign_key(team, key)
    usernames = []
    for i in range(args.clients):
        user = get_user_model().objects.create_user(username=f"submit-{tag}-{i}", password=PASSWORD)
        Membership.objects.create(team=team, user=user)
        usernames.append(user.username)
    print(f"# backend={c.backend_label(env)} gunicorn workers={args.workers} threads={args.threads} "
          f"clients={args.clients} procs={args.procs} seconds={args.seconds:g} runs={args.runs}", flush=True)
    runs = []
    proc = c.start_gunicorn(env, port, workers=args.workers, threads=args.threads, name="web")
    try:
        for run in range(1, args.runs + 1):
            figures = run_once(port, usernames, args.procs, args.seconds)
            runs.append(figures)
            print(f"run={run} " + c.keyvals(figures) + " " + c.keyvals(c.machine()), flush=True)
            c.purge_queues("celery")
    finally:
        proc.stop()
        c.purge_queues("celery")
    created = Job.objects.filter(team=team).count()
    last = {"submissions_per_s": c.median([r["per_s"] for r in runs]),
            "errors": sum(r["errors"] for r in runs), "jobs_created": created,
            "runs": len(runs), "clients": args.clients, "backend": c.backend_label(env), **c.machine()}
    print(c.keyvals(last), flush=True)


if __name__ == "__main__":
    main()
