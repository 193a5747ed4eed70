"""The strict Content-Security-Policy holds in a real browser: every studio page and the
admin load and work with no CSP violation (no inline script, handler or style needed)."""

from django.contrib.auth.models import User

from tests.browser.conftest import log_in

VIOLATIONS = """() => { window.__csp = []; document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI)); }"""


def test_no_page_violates_the_content_security_policy(studio, page):
    page.add_init_script(f"({VIOLATIONS})()")
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page)
    for path in ("/", "/history/", "/gallery/", "/notifications/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    # The create form's interactive parts (source pickers, previews) run under the policy.
    page.goto("/")
    page.locator("input[name=visual_source]").first.check(force=True)
    assert page.evaluate("window.__csp") == []

    User.objects.create_superuser("root", password="root-pw-123!")
    page.context.clear_cookies()
    log_in(page, "root", "root-pw-123!")
    for path in ("/admin/", "/admin/jobs/job/", "/admin/jobs/character/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    assert console == []
