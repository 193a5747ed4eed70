"""What a newcomer met on the create page and in the lists (issue 12, points 3, 4 and 9),
checked in headless Chromium against the live server. No worker is needed: nothing here
is sent to the video service. Each test saves a screenshot under tests/screenshots/."""

import re

import pytest

from tests.browser.conftest import PASSWORD, engine_key, log_in, screenshot


@pytest.fixture
def newcomer(live_server, settings, django_user_model, characters):
    """alice in team Acme with the local engine's key; no worker runs."""
    from accounts.models import Membership, Team
    from keys.selection import assign_key

    settings.PUBLIC_BASE_URL = live_server.url
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    alice = django_user_model.objects.create_user("alice", email="alice@example.com", password=PASSWORD)
    team = Team.objects.create(name="Acme")
    assign_key(team, engine_key("Local engine", settings.ENGINE_LICENSES[0], live_server.url))
    Membership.objects.create(team=team, user=alice)
    return alice


def choose(page, label: str) -> None:
    page.locator("label.choice-tab", has_text=label).click()


def test_text_over_the_limit_is_never_cut_and_says_by_how_much(page, newcomer, settings):
    settings.TEXT_MAX_CHARS = 50
    log_in(page)
    choose(page, "Built-in character")
    page.locator(".pick-card").first.click()
    choose(page, "Type text")
    text = ("Welcome to the studio. " * 4).strip()  # 91 characters: 41 over
    page.locator("#id_content").fill(text)
    page.locator('input[name="voice"][value="nova"]').check(force=True)
    counter = page.locator('[data-counter-for="id_content"]')
    assert "counter--over" in counter.get_attribute("class")
    assert "41 over the limit" in counter.inner_text()
    screenshot(page, "newcomer-01-counter-over")
    page.get_by_role("button", name="Generate video").click()
    page.wait_for_load_state()
    assert page.locator("#id_content").input_value() == text  # nothing typed is cut
    assert "41 over the limit of 50" in page.locator("#error-content").inner_text()
    screenshot(page, "newcomer-02-text-error")


def test_a_rejected_form_brings_the_first_error_into_view_clear_of_the_submit_bar(page, newcomer):
    log_in(page)
    choose(page, "Built-in character")
    page.locator(".pick-card").first.click()
    choose(page, "Audio link")
    page.get_by_role("button", name="Generate video").click()
    page.wait_for_load_state()
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "id_audio_url"
    field = page.locator("#id_audio_url").bounding_box()
    bar = page.locator(".submit-bar").bounding_box()
    assert field["y"] >= 0 and field["y"] + field["height"] <= bar["y"], (field, bar)
    page.wait_for_function("document.getElementById('announcer').textContent.length > 0")
    assert "link" in page.locator("#announcer").inner_text().lower()
    screenshot(page, "newcomer-03-first-error-in-view")


def test_a_link_preview_does_not_move_what_is_below_it(page, newcomer, live_server):
    log_in(page)
    choose(page, "Photo link")
    voice = page.locator("fieldset[data-choice-group='audio_source']")
    before = voice.bounding_box()["y"]
    page.locator("#id_image_url").fill(live_server.url + "/static/characters/ava.jpg")
    page.wait_for_function("""() => { const img = document.querySelector('[data-preview="id_image_url"] img');
                                      return img && img.complete && img.naturalWidth > 0; }""")
    after = voice.bounding_box()["y"]
    assert abs(after - before) < 1, (before, after)
    screenshot(page, "newcomer-04-link-preview")


def test_the_header_takes_little_of_a_phone_screen(context, newcomer):
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page)
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 0.15 * 844, header
    screenshot(page, "newcomer-05-phone-header")


def test_a_gallery_card_shows_one_set_of_controls(page, newcomer, make_job):
    from jobs.models import Job

    make_job(newcomer, title="Archived one", status=Job.Status.DONE, video_url="https://cdn.example/v.mp4",
             archive_status="done", archive_file="results/none.mp4", video_duration=7.8)
    log_in(page)
    page.goto("/gallery/")
    video = page.locator(".gallery__item video").first
    assert page.locator(".gallery__item [data-play]").first.is_visible()
    assert video.evaluate("v => v.controls") is False  # only the play button until it plays
    screenshot(page, "newcomer-06-gallery-card")
    assert re.search(r"0:07", page.locator(".gallery__item").first.inner_text())
