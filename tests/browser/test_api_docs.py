"""The API docs page (Swagger UI from this portal's own static files) renders the schema in
a real browser under the strict CSP: no violation, and the create call's nine examples."""

import pytest

from tests.browser.test_csp import VIOLATIONS

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_under_the_content_security_policy(page):
    page.add_init_script(f"({VIOLATIONS})()")
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "NavTalk Portal API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator("#operations-jobs-jobs_create button").first.click()
    select = page.locator("#operations-jobs-jobs_create .examples-select select").first
    select.wait_for(timeout=20000)  # Swagger UI renders the opened operation after the click
    options = select.locator("option").all_inner_texts()
    assert len(options) == 9 and "9 Character + typed text" in options
    assert page.evaluate("window.__csp") == []
    origin = page.url.split("/api/")[0]
    assert requested and all(url.startswith(origin) or url.startswith("data:") for url in requested)
