"""Property-based fuzzing of every endpoint that takes input, against a live server.

    .venv/bin/python bench/fuzz.py --examples 5000 [--seed N]

starts gunicorn on a SQLite file of its own (var/bench/fuzz*), a person "fuzzer" with a
team and the local engine's license, and sends hypothesis-generated requests: the create
form (logged in, with CSRF; repeated and missing radios, hostile links, garbage files and
sliders), /engine/generate (JSON of every shape, deep nesting, invalid UTF-8, lone
surrogates), /engine/query_status, /engine/stats, media and voice URLs, history filters,
live status, team switching, job actions and the login form. It prints

    inputs=… status_2xx=… status_3xx=… status_4xx=… status_5xx=0 unclear_messages=… calib_ms=… loadavg=…

`unclear_messages` counts 4xx answers without words for a person (a JSON `message`, a
field error, an alert or a heading). tests/front/test_fuzz.py runs the same properties,
fewer and derandomized, against pytest-django's live server.
"""

import argparse
import json
import re
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# --- the inputs ---------------------------------------------------------------------------

HOSTILE_URLS = [
    "http://127.0.0.1:8000/face.jpg", "http://localhost/x.jpg", "http://[::1]/x", "http://[::1/x", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/a.jpg", "http://[::7f00:1]/", "http://good@127.0.0.1/", "http://169.254.169.254/",
    "http://example.com:99999/a.jpg", "http://example.com:-1/", "https://example.com/a.jpg", "ftp://example.com/a",
    "javascript:alert(1)", "http://%zz/", "http://[v1.x]/", "http://a b/", "http://" + "a" * 300 + ".com/",
    "http:///x", "//example.com/a.jpg", "http://[::]:80/", "http://2130706433/", "http://0x7f.1/",
]
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "null", "[]", "{}",
                                                        "\x00", "%", "%ED%A0%80", "☃" * 10, "a" * 5000]))
NUMBERS = st.one_of(st.integers(), st.integers(-20, 200).map(str), st.floats(allow_nan=True).map(str), TEXT)
URLS = st.one_of(st.sampled_from(HOSTILE_URLS), TEXT)
CREATE_FIELDS = {
    "visual_source": st.sampled_from(["video_file", "video_url", "image_file", "image_url", "character", "", "x"]),
    "audio_source": st.sampled_from(["audio_file", "audio_url", "content", "", "nope"]),
    "video_url": URLS, "image_url": URLS, "audio_url": URLS,
    "character": st.one_of(st.sampled_from(["navtalk.Leo", "navtalk.Ava"]), TEXT),
    "content": TEXT, "voice": st.one_of(st.sampled_from(["ash", "nova", "NOVA"]), TEXT),
    "bbox_shift": NUMBERS, "extra_margin": NUMBERS, "left_cheek_width": NUMBERS, "right_cheek_width": NUMBERS,
    "parsing_mode": st.one_of(st.sampled_from(["jaw", "raw"]), TEXT),
    "title": TEXT, "reuse_from": st.one_of(st.uuids().map(str), TEXT),
}
FILE_BYTES = st.one_of(st.binary(max_size=64), st.sampled_from([
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff" + b"\x00" * 40, b"RIFF\x00\x00\x00\x00WAVEfmt ",
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", b"ID3\x03\x00\x00\x00\x00\x00\x00"]))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)
GENERATE_FIELDS = ["license", "character_name", "image_url", "video_url", "audio_url", "audio_base64", "content",
                   "voice", "bbox_shift", "extra_margin", "parsing_mode", "left_cheek_width", "right_cheek_width"]


@dataclass
class Req:
    endpoint: str
    method: str
    path: str
    params: object = None
    data: object = None
    files: dict | None = None
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    csrf: bool = False


VALID_CREATE = [("visual_source", "image_url"), ("image_url", "https://example.com/face.jpg"),
                ("audio_source", "content"), ("content", "Hello there."), ("voice", "nova")]


@st.composite
def create_form(draw):
    names = draw(st.lists(st.sampled_from(sorted(CREATE_FIELDS)), max_size=12))
    data = [(name, draw(CREATE_FIELDS[name])) for name in names]  # repeats allowed, order kept
    if draw(st.booleans()):  # near-valid: a good form with a few fields changed, added or repeated
        data = [pair for pair in VALID_CREATE if draw(st.integers(0, 5))] + data[:3]
    files = None
    if draw(st.booleans()):
        files = {draw(st.sampled_from(["image_file", "video_file", "audio_file"])):
                 (draw(st.sampled_from(["a.png", "b.mp4", "c.wav", "d"])), draw(FILE_BYTES))}
    if draw(st.integers(0, 9)) == 0:  # a raw body: invalid UTF-8, broken percent-escapes
        return Req("create", "POST", "/", body=draw(st.binary(max_size=200)), csrf=True,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    return Req("create", "POST", "/", data=data, files=files, csrf=True)


@st.composite
def generate(draw, license: str):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        depth = draw(st.integers(1, 100_000))
        return Req("generate", "POST", "/engine/generate", body=b"[" * depth + b"]" * draw(st.integers(0, depth)))
    if kind == 1:
        return Req("generate", "POST", "/engine/generate", body=draw(st.binary(max_size=300)))
    if kind == 2:
        return Req("generate", "POST", "/engine/generate", body=json.dumps(draw(JSON)).encode())
    body = {}
    for name in draw(st.lists(st.sampled_from(GENERATE_FIELDS), max_size=8, unique=True)):
        body[name] = draw(st.one_of(URLS, JSON_LEAF, JSON)) if name != "license" else draw(
            st.one_of(st.just(license), TEXT, JSON_LEAF))
    if draw(st.booleans()):
        body.setdefault("license", license)
    raw = json.dumps(body)
    if draw(st.integers(0, 4)) == 0:  # a lone surrogate somewhere
        raw = raw.replace('"', '"\\ud800', 1) if '"' in raw else raw
    return Req("generate", "POST", "/engine/generate", body=raw.encode(),
               headers={"Content-Type": "application/json"})


@st.composite
def get_with_params(draw, license: str):
    endpoint, path, names = draw(st.sampled_from([
        ("query_status", "/engine/query_status", ["license", "task_id"]),
        ("stats", "/engine/stats", ["license"]),
        ("history", "/history/", ["q", "status", "method", "creator", "date_from", "date_to", "after", "before",
                                  "page"]),
        ("gallery", "/gallery/", ["after", "before", "page"]),
        ("live", "/jobs/live/", ["view", "job"]),
        ("notifications", "/notifications/", ["after", "page"]),
        ("create_page", "/", ["reuse_from", "from"]),
    ]))
    params = []
    for name in draw(st.lists(st.sampled_from(names), max_size=6)):
        value = draw(st.one_of(TEXT, st.uuids().map(str), st.integers().map(str),
                               st.just(license) if name == "license" else st.just("2026-02-30")))
        params.append((name, value))
    return Req(endpoint, "GET", path, params=params)


@st.composite
def paths(draw):
    segment = draw(st.one_of(st.text(max_size=30), st.uuids().map(str), st.sampled_from(["nova", "navtalk.Leo"])))
    safe = requests.utils.quote(segment, safe="")
    template = draw(st.sampled_from([
        "/engine/media/{}.mp4", "/engine/voices/{}.wav", "/engine/characters/{}.jpg", "/voices/{}.wav", "/m/{}/",
        "/jobs/{}/", "/jobs/{}/status/", "/jobs/{}/video.mp4", "/jobs/{}/poster.jpg"]))
    headers = {}
    if draw(st.booleans()):
        headers["Range"] = draw(st.one_of(st.sampled_from(["bytes=0-", "bytes=-5", "bytes=5-1", "bytes=0-0,2-3",
                                                           "bytes=99999999999999999999-"]),
                                            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)))
    return Req("paths", "GET", template.format(safe), headers=headers)


@st.composite
def posts(draw):
    action = draw(st.sampled_from(["retry", "cancel", "duplicate", "archive", "switch", "login"]))
    if action == "switch":
        return Req("switch_team", "POST", "/team/switch/", csrf=True,
                   data=[("team", draw(st.one_of(st.integers().map(str), TEXT)))])
    if action == "login":  # never the fuzzing person's name: a lockout would end the run
        username = draw(TEXT.filter(lambda s: s != "fuzzer"))
        return Req("login", "POST", "/login/", csrf=True, data=[("username", username), ("password", draw(TEXT))])
    code = draw(st.one_of(st.uuids().map(str), st.text(max_size=10)))
    suffix = {"archive": "archive"}.get(action, action)
    return Req(action, "POST", f"/jobs/{requests.utils.quote(code, safe='')}/{suffix}/", csrf=True, data=[])


def requests_strategy(license: str):
    return st.one_of(create_form(), generate(license), get_with_params(license), paths(), posts())


# --- sending and judging ------------------------------------------------------------------

@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    unclear: int = 0
    unsendable: int = 0
    server_errors: list = field(default_factory=list)
    unclear_examples: list = field(default_factory=list)

    def line(self) -> str:
        by_class = Counter(f"status_{s // 100}xx" for s in self.statuses.elements())
        return (f"inputs={sum(self.statuses.values())} status_2xx={by_class['status_2xx']} "
                f"status_3xx={by_class['status_3xx']} status_4xx={by_class['status_4xx']} "
                f"status_5xx={by_class['status_5xx']} unclear_messages={self.unclear}")


HUMAN_HTML = re.compile(r'class="field-error"|role="alert"|<h1[^>]*>\s*\S|class="alert', re.I)


def clear_message(response: requests.Response) -> bool:
    """Does a 4xx answer say, in words, what was wrong?"""
    kind = response.headers.get("Content-Type", "")
    text = response.text
    if "json" in kind:
        try:
            message = response.json().get("message")
        except (ValueError, AttributeError):
            return False
        return isinstance(message, str) and len(message.strip()) >= 10
    if "html" in kind:
        return bool(HUMAN_HTML.search(text))
    return len(text.strip()) >= 15


@dataclass
class Target:
    base: str
    session: requests.Session
    license: str

    def send(self, req: Req) -> requests.Response:
        headers = dict(req.headers)
        if req.csrf:
            token = self.session.cookies.get("csrftoken", "")
            headers.update({"X-CSRFToken": token, "Referer": self.base + "/"})
            if isinstance(req.data, list):
                req.data = [("csrfmiddlewaretoken", token)] + req.data
        return self.session.request(req.method, self.base + req.path, params=req.params, data=req.body or req.data,
                                    files=req.files, headers=headers, allow_redirects=False, timeout=60)


def judge(target: Target, req: Req, tally: Tally) -> None:
    try:
        response = target.send(req)
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, UnicodeEncodeError):
        tally.unsendable += 1  # the client itself refused to send it
        return
    tally.statuses[response.status_code] += 1
    if response.status_code >= 500:
        tally.server_errors.append((req, response.status_code, response.text[:300]))
    elif 400 <= response.status_code < 500 and not clear_message(response):
        tally.unclear += 1
        if len(tally.unclear_examples) < 20:
            tally.unclear_examples.append((req.endpoint, response.status_code, response.text[:200]))


def regressions(license: str) -> list[Req]:
    """Inputs that once were 500s (issue 10's audit, earlier fuzz runs): sent first, every run."""
    json_h = {"Content-Type": "application/json"}
    good = {"license": license, "character_name": "navtalk.Leo", "content": "Hi.", "voice": "nova"}
    return [
        Req("generate", "POST", "/engine/generate", body=b"[" * 100_000 + b"]" * 100_000, headers=json_h),
        Req("generate", "POST", "/engine/generate", body=b'{"license": "\\ud800"}', headers=json_h),
        Req("generate", "POST", "/engine/generate", headers=json_h,
            body=json.dumps({**good, "character_name": None, "image_url": "http://[::1/x"}).encode()),
        Req("generate", "POST", "/engine/generate", body=json.dumps({**good, "parsing_mode": []}).encode(),
            headers=json_h),
        Req("create", "POST", "/", csrf=True, data=[("visual_source", "image_url"), ("visual_source", ""),
                                                    ("image_url", "https://example.com/a.jpg"),
                                                    ("audio_source", "content"), ("audio_source", ""),
                                                    ("content", "Hi"), ("voice", "ash")]),
        Req("create", "POST", "/", csrf=True, data=[("visual_source", "image_url"), ("image_url", "http://[::1/x"),
                                                    ("audio_source", "content"), ("content", "Hi"), ("voice", "ash")]),
        Req("voice", "GET", "/voices/nova.wav"),
        Req("paths", "GET", "/engine/characters/navtalk.Leo.jpg", headers={"Range": "bytes=99999999-"}),
        Req("switch_team", "POST", "/team/switch/", csrf=True, data=[("team", "9" * 30)]),
    ]


def run(target: Target, examples: int, *, derandomize: bool = False, seed: int | None = None) -> Tally:
    tally = Tally()
    for req in regressions(target.license):
        judge(target, req, tally)

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(requests_strategy(target.license))
    def fuzz(req):
        judge(target, req, tally)

    if seed is not None and not derandomize:
        from hypothesis import seed as seed_decorator

        fuzz = seed_decorator(seed)(fuzz)
    fuzz()
    return tally


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/login/", timeout=30)
    response = session.post(base + "/login/", data={"username": username, "password": password,
                                                   "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                            headers={"Referer": base + "/login/"}, allow_redirects=False, timeout=30)
    if response.status_code != 302:
        raise RuntimeError(f"could not log in as {username}: HTTP {response.status_code}")
    return session


# --- the benchmark ------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    import secrets

    from bench import _common as c

    port = c.free_port()
    base = f"http://127.0.0.1:{port}"
    license = "sk-fuzz-" + secrets.token_hex(16)
    from cryptography.fernet import Fernet

    env = c.setup(f"fuzz-{uuid.uuid4().hex[:6]}", DEBUG="False", SECRET_KEY=secrets.token_hex(32),
                  LICENSE_ENCRYPTION_KEYS=Fernet.generate_key().decode(), ALLOWED_HOSTS="127.0.0.1,localhost",
                  SECURE_SSL_REDIRECT="False", PORTAL_LOCAL="True", PUBLIC_BASE_URL=base,
                  ENGINE_BASE_URL=base + "/engine",
                  ENGINE_LICENSES=license, ENGINE_FAULTS="mode=instant", LOG_LEVEL="CRITICAL",
                  LOGIN_FAILURE_LIMIT="1000000")
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Team
    from keys.models import LicenseKey
    from keys.selection import assign_key

    user = get_user_model().objects.create_user("fuzzer", password="pw-fuzzer-123!")
    key = LicenseKey(name="Fuzz engine", generate_url=base + "/engine/generate",
                     query_status_url=base + "/engine/query_status")
    key.secret = license
    key.save()
    team = Team.objects.create(name="Fuzz")
    assign_key(team, key)
    Membership.objects.create(team=team, user=user)
    machine = c.machine()
    proc = c.start_gunicorn(env, port, workers=2, threads=4, name="fuzz-gunicorn")
    try:
        target = Target(base, login(base, "fuzzer", "pw-fuzzer-123!"), license)
        tally = run(target, args.examples, seed=args.seed)
    finally:
        proc.stop()
    for req, status, text in tally.server_errors[:10]:
        sent = str(req.data or req.body)[:200]
        print(f"# {status} {req.method} {req.path} {req.params or ''} {sent!r}: {text[:200]!r}", file=sys.stderr)
    for endpoint, status, text in tally.unclear_examples[:5]:
        print(f"# unclear {status} {endpoint}: {text!r}", file=sys.stderr)
    print(f"{tally.line()} calib_ms={machine['calib_ms']:.0f} loadavg={machine['load1']:.2f}")


if __name__ == "__main__":
    main()
