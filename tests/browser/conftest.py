"""Browser tests: Debian's headless Chromium (never a downloaded browser) driven by
Playwright against pytest-django's live_server, with a real Celery worker (queues
celery + engine) and beat, and the local engine as the upstream over real HTTP.

Chromium and axe-core are installed by `.ci/browser-deps` (which `make test` runs). If
either is missing these tests fail with a message saying how to install it: they never
skip silently.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.processes import process_env, purge_broker, running, start_beat, start_worker
from keys.selection import assign_key

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path(os.environ.get("BROWSER_TESTS_CHROMIUM", "/usr/bin/chromium"))
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    # Recording: a fake microphone (a beeping tone) and an auto-accepted permission prompt.
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = "pw-browser-alice-123!"
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


# --- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}. Run `bash .ci/browser-deps` "
                    "(as root it installs Debian's package; `make test` runs it) or "
                    "`sudo apt-get install -y chromium`.", pytrace=False)
    if not AXE.exists():
        pytest.fail(f"The browser tests need axe-core at {AXE}. Run `bash .ci/browser-deps` "
                    "(`make test` runs it), which runs `npm ci` in tests/browser.", pytrace=False)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django would
    # refuse the ORM calls the tests (and pytest-django's flush) make here, though they
    # are plain synchronous calls. Allowed only while the browser runs (the variable
    # must not leak: `check --deploy` in later tests rejects it).
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def context(chromium, live_server):
    ctx = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                               permissions=["microphone", "clipboard-read", "clipboard-write"])
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


# --- the portal, its worker and its upstream -----------------------------------------------


def _allowed_private(url: str) -> str:
    return url + "/engine/media/"  # the engine's results, as an exact origin + path


def _engine_allowed_private(url: str) -> str:
    """What the engine may fetch from the live server: uploads under signed links (/m/)
    and the static pictures the tests use as photo links (both on loopback)."""
    return f"{url}/m/,{url}/static/"


@pytest.fixture(scope="module")
def processes(live_server, django_db_setup, tmp_path_factory):
    """A real worker (celery + engine queues) and beat, on the test database and broker,
    seeing the live server as the portal's public address and as the engine."""
    purge_broker()
    env = process_env(PUBLIC_BASE_URL=live_server.url, ENGINE_BASE_URL=live_server.url + "/engine",
                      FETCH_ALLOWED_PRIVATE=_allowed_private(live_server.url), POLL_INTERVAL_SECONDS="0.5",
                      ENGINE_FETCH_ALLOWED_PRIVATE=_engine_allowed_private(live_server.url),
                      JOB_EXPECTED_SECONDS="2", RECONCILE_INTERVAL_SECONDS="5", ARCHIVE_RESULTS="True")
    env.pop(ASYNC_UNSAFE, None)
    log_dir = tmp_path_factory.mktemp("browser-procs")
    with running(lambda: start_worker(env, log_dir, queues="celery,engine"),
                 lambda: start_beat(env, log_dir)) as procs:
        yield procs


@pytest.fixture
def studio(processes, live_server, settings, django_user_model, characters):
    """alice in team Acme, whose default key is the local engine (served by the live server)."""
    from accounts.models import Membership, Team

    settings.PUBLIC_BASE_URL = live_server.url
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.FETCH_ALLOWED_PRIVATE = (_allowed_private(live_server.url),)
    settings.ENGINE_FETCH_ALLOWED_PRIVATE = tuple(_engine_allowed_private(live_server.url).split(","))
    alice = django_user_model.objects.create_user("alice", email="alice@example.com", password=PASSWORD)
    key = engine_key("Local engine", settings.ENGINE_LICENSES[0], live_server.url)
    team = Team.objects.create(name="Acme")
    assign_key(team, key)
    Membership.objects.create(team=team, user=alice)
    return Studio(live_server.url, alice, team, key, processes)


def engine_key(name: str, secret: str, base: str):
    from keys.models import LicenseKey

    key = LicenseKey(name=name, generate_url=base + "/engine/generate", query_status_url=base + "/engine/query_status")
    key.secret = secret
    key.save()
    return key


class Studio:
    def __init__(self, url, alice, team, key, processes):
        self.url, self.alice, self.team, self.key, self.processes = url, alice, team, key, processes

    def logs(self) -> str:
        return "\n".join(p.output()[-3000:] for p in self.processes)


# --- helpers the tests share ------------------------------------------------------------------


def log_in(page, username="alice", password=PASSWORD):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page, name: str) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    # Evaluated through the browser's debugging protocol, which the page's strict CSP does
    # not govern (an injected <script> tag would be refused, rightly).
    page.evaluate(AXE.read_text() + "\n;0")
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — " + (n.failureSummary || ""))}));
    }""")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core on the {name} page:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in bad)


def wait_for_job(predicate, timeout=90, studio=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"job condition not met within {timeout}s\n{studio.logs() if studio else ''}")


@pytest.fixture(scope="session")
def face_video(tmp_path_factory) -> Path:
    """A small MP4 of a talking face (a built-in character rendered by the engine), made
    in a child process so this process never loads the renderer's models."""
    out = tmp_path_factory.mktemp("face") / "talking-face.mp4"
    script = ("import sys; from pathlib import Path; from engine.tts import synthesize; "
              "from engine.renderer import render; d = Path(sys.argv[1]).parent; "
              "s = synthesize('Hello there, this is my face.', 'alloy', d / 'a.wav'); "
              "render(Path('engine/characters/leo.jpg'), 'character', d / 'a.wav', Path(sys.argv[1]), visemes=s.visemes)")
    subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, check=True, timeout=120, capture_output=True)
    return out
