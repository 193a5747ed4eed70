"""The studio in a real browser: make videos three ways (uploaded video, photo link,
character + text) and by recording, watch them finish live, play them from the archive,
filter the history, copy a share link, retry a failure — and check each page with axe.

Every page visited is saved as a screenshot under tests/screenshots/.
"""

import re

from playwright.sync_api import expect

from jobs.models import Job
from keys.selection import use_only
from tests.browser.conftest import assert_accessible, engine_key, log_in, screenshot, wait_for_job

DONE_TIMEOUT = 90_000  # ms; a render takes a few seconds on two cores

WATCH_STAGES = """() => {
    window.__stages = [];
    window.__sameDocument = true;  // gone if the page reloads
    const part = document.querySelector('[data-part="status"]');
    const note = () => {
        const text = part.querySelector('.badge').textContent.trim();
        if (window.__stages[window.__stages.length - 1] !== text) window.__stages.push(text);
    };
    note();
    new MutationObserver(note).observe(part, {subtree: true, childList: true, characterData: true});
}"""

PLAY = """async (video) => {
    video.muted = true;
    if (video.readyState < 1) {
        await new Promise(done => {
            video.addEventListener('loadedmetadata', done, {once: true});
            video.addEventListener('error', done, {once: true});
            video.load();
        });
    }
    let refused = null;
    if (video.paused) { try { await video.play(); } catch (e) { refused = String(e); } }
    await new Promise(done => setTimeout(done, 500));
    return {duration: video.duration, error: video.error ? video.error.code : refused,
            time: video.currentTime, src: video.currentSrc};
}"""

MEDIA_READY = """async (media) => {
    if (media.readyState < 1) {
        await new Promise(done => {
            media.addEventListener('loadedmetadata', done, {once: true});
            media.addEventListener('error', done, {once: true});
        });
    }
    return {duration: media.duration, error: media.error ? media.error.code : null};
}"""


def choose(page, text: str) -> None:
    """Click a choice tab ("Upload a video", "Type text", …) by its words."""
    page.locator("label.choice-tab", has_text=text).click()


def say_with_voice(page, text: str, voice: str = "Nova") -> None:
    choose(page, "Type text")
    page.get_by_label("Text to speak").fill(text)
    page.locator(".voice-item label.pick-card", has_text=voice).click()


def generate(page, title: str) -> Job:
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_role("button", name="Generate video").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    return Job.objects.get(title=title)


def watch_until_done(page, studio) -> list[str]:
    """Follow the detail page (no reload) until the job is done; returns the stages seen."""
    page.evaluate(WATCH_STAGES)
    try:
        expect(page.locator('[data-part="status"] .badge')).to_have_text("Done", timeout=DONE_TIMEOUT)
    except AssertionError:
        print(studio.logs())
        raise
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    return page.evaluate("window.__stages")


def test_the_login_page_is_accessible_and_logs_in(studio, page):
    page.goto("/login/")
    screenshot(page, "01-login")
    assert_accessible(page, "login")
    log_in(page)
    expect(page.get_by_role("heading", name="Make a video")).to_be_visible()


def test_the_create_page_works_with_the_keyboard(studio, page):
    log_in(page)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0, "the skip link stays off-screen when focused"
    page.keyboard.press("Enter")
    # Tab to the first face option; arrows move between options and the panel follows.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "visual_source":
            break
    focused = page.locator("input[name=visual_source]:focus")
    expect(focused).to_have_count(1)
    ring = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).boxShadow")
    assert ring and ring != "none", "no visible focus ring on the focused option"
    page.keyboard.press("ArrowRight")
    checked = page.evaluate("document.querySelector('input[name=visual_source]:checked').value")
    assert checked != "character"
    expect(page.locator(f'[data-panel="{checked}"]')).to_be_visible()
    expect(page.locator('[data-panel="character"]')).to_be_hidden()


def test_it_makes_a_video_from_an_uploaded_video_and_plays_the_archived_copy(studio, page, face_video):
    log_in(page)
    choose(page, "Upload a video")
    page.set_input_files("#id_video_file", str(face_video))
    preview = page.locator('[data-preview="id_video_file"] video')
    expect(preview).to_be_visible()
    shown = preview.evaluate(MEDIA_READY)
    assert shown["error"] is None and shown["duration"] > 0, shown

    say_with_voice(page, "Hello from my own video. This is the portal speaking.", voice="Onyx")
    # A voice sample plays in place: rendered by the engine's TTS on first request, then cached.
    with page.expect_response(re.compile(r"/voices/onyx\.wav$")) as sample:
        page.locator(".voice-item", has_text="Onyx").get_by_role("link", name=re.compile("Listen")).click()
    assert sample.value.status in (200, 206) and sample.value.headers["content-type"] == "audio/wav"

    # Sliders show their value and their two ends in words.
    page.locator("details.advanced summary").click()
    page.locator("#id_bbox_shift").fill("3")
    expect(page.locator('[data-range-output="id_bbox_shift"]')).to_have_text("3")
    expect(page.locator(".range-field", has_text="Mouth").locator(".range-ends")).to_contain_text("less open")
    expect(page.locator("#method-summary")).to_have_text("Video + typed text")
    screenshot(page, "02-create-video-upload")
    assert_accessible(page, "create")

    job = generate(page, "My own video")
    assert job.visual_type == "video" and job.visual_file.name.endswith(".mp4") and job.params == {"bbox_shift": 3}
    screenshot(page, "03-detail-in-flight")
    stages = watch_until_done(page, studio)
    assert stages[0] != "Done" and stages[-1] == "Done", stages
    expect(page.locator('[data-part="elapsed"]')).to_contain_text("Took")

    # The archived copy replaces the upstream link (poster too), and it plays.
    player = page.locator("video.player")
    expect(player).to_have_attribute("src", re.compile(rf"/jobs/{job.code}/video\.mp4$"), timeout=30_000)
    expect(player).to_have_attribute("poster", re.compile(rf"/jobs/{job.code}/poster\.jpg$"))
    expect(page.locator('[data-part="archive"]')).to_contain_text("Archived")
    played = player.evaluate(PLAY)
    assert played["error"] is None and played["duration"] > 0, played
    screenshot(page, "04-detail-done")
    assert_accessible(page, "detail")


def use_engine_with(studio, live_server, faults: str) -> None:
    """Point the team at an engine license with this fault profile (e.g. a latency)."""
    from engine.models import EngineLicense

    _, license = EngineLicense.issue(faults, faults=faults)
    use_only(studio.team, engine_key(faults, license, live_server.url))


def test_it_follows_jobs_live_in_history_and_gallery(studio, page, live_server):
    log_in(page)
    use_engine_with(studio, live_server, "latency=5")  # slow enough to watch it in the gallery
    choose(page, "Photo link")
    page.get_by_label("Link to a photo").fill(live_server.url + "/static/characters/ava.jpg")
    preview = page.locator('[data-preview="id_image_url"] img')
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    say_with_voice(page, "A photo can talk too.", voice="Coral")
    expect(page.locator("#method-summary")).to_have_text("Photo + typed text")
    photo = generate(page, "Photo that talks")

    use_engine_with(studio, live_server, "latency=10")  # and this one in the history
    page.goto("/")
    choose(page, "Built-in character")
    page.locator("label.pick-card", has_text="Ava").click()
    say_with_voice(page, "Ava speaks for the training team.", voice="Sage")
    character = generate(page, "Ava speaks")

    # Gallery: videos being made are placeholders that turn into the video by themselves.
    page.goto("/gallery/")
    page.evaluate("window.__sameDocument = true")
    placeholder = page.locator(f'[data-live-job="{photo.code}"]')
    expect(placeholder).to_have_attribute("data-in-flight", "true")
    expect(placeholder.locator(".gallery__media--pending")).to_be_visible()
    screenshot(page, "05-gallery-in-flight")
    expect(placeholder.locator("video")).to_have_count(1, timeout=DONE_TIMEOUT)
    expect(placeholder.get_by_role("link", name=re.compile("Download"))).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the gallery page reloaded"

    # History: the rows update by themselves until both are done.
    page.goto("/history/")
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f'[data-live-job="{character.code}"]')
    expect(row).to_have_attribute("data-in-flight", "true")
    expect(row.locator(".live-status__elapsed")).to_have_text(re.compile(r"^\d+ s$"))
    screenshot(page, "06-history-in-flight")
    for job in (photo, character):
        expect(page.locator(f'[data-live-job="{job.code}"] .badge')).to_have_text("Done", timeout=DONE_TIMEOUT)
    assert page.evaluate("window.__sameDocument") is True, "the history page reloaded"
    # The header's count followed: this page loaded while the character job was in flight.
    expect(page.locator("[data-notif-link] .notif-count")).to_contain_text("2")
    screenshot(page, "07-history")
    assert_accessible(page, "history")

    # Filtering.
    page.get_by_label("Search").fill("Ava speaks")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("a.row-title")).to_have_text(["Ava speaks"])
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No jobs match these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("a.row-title")).to_have_count(2)

    # Gallery: posters from the archive, click to play, copy a team-only share link.
    wait_for_job(lambda: Job.objects.filter(pk__in=[photo.pk, character.pk], archive_status="done").count() == 2,
                 studio=studio)
    page.goto("/gallery/")
    card = page.locator(f'[data-live-job="{character.code}"]')
    expect(card.locator(".gallery__title")).to_have_text("Ava speaks")
    expect(card).to_contain_text("alice")
    expect(card).to_contain_text(re.compile(r"\b0:0\d\b"))  # its length
    video = card.locator("video")
    expect(video).to_have_attribute("poster", re.compile(rf"/jobs/{character.code}/poster\.jpg$"))
    expect(card.get_by_role("link", name=re.compile("Download"))).to_have_attribute(
        "href", f"/jobs/{character.code}/video.mp4?download=1")
    screenshot(page, "08-gallery")
    assert_accessible(page, "gallery")
    video.evaluate("v => { v.muted = true; }")
    card.get_by_role("button", name="Play “Ava speaks”").click()
    page.wait_for_function("v => !v.paused && v.currentTime > 0", arg=video.element_handle(), timeout=10_000)
    played = video.evaluate(PLAY)
    assert played["error"] is None and played["duration"] > 0, played

    copy = card.locator("[data-copy-link]")
    expect(copy).to_have_accessible_name("Copy link to “Ava speaks”")
    copy.click()
    expect(copy).to_have_text("✓ Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/jobs/{character.code}/"

    # Notifications: the header counts the two finished videos until the list is opened.
    page.goto("/history/")
    expect(page.locator(".notif-count")).to_contain_text("2")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.locator(".notice-list").first).to_contain_text("Photo that talks")
    expect(page.locator(".notif-count")).to_have_count(0)
    page.get_by_label("Email me when my video is ready").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Email preferences saved.")).to_be_visible()
    screenshot(page, "09-notifications")
    assert_accessible(page, "notifications")


def test_a_failed_job_shows_its_reason_and_retry_makes_it(studio, page, live_server):
    from engine.models import EngineLicense

    _, failing = EngineLicense.issue("Always fails", faults="fail_rate=1")
    use_only(studio.team, engine_key("Failing engine", failing, live_server.url))
    log_in(page)
    choose(page, "Built-in character")
    page.locator("label.pick-card", has_text="Leo").click()
    say_with_voice(page, "This one will fail first.")
    job = generate(page, "Fails first")
    expect(page.locator('[data-part="status"] .badge')).to_have_text("Failed", timeout=DONE_TIMEOUT)
    expect(page.locator('[data-part="result"] .alert--error')).to_contain_text("Injected failure")
    screenshot(page, "10-detail-failed")

    use_only(studio.team, studio.key)  # an admin fixes the team's key
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text(re.compile(r"Sent again \(attempt 2\)"))).to_be_visible()
    watch_until_done(page, studio)
    job.refresh_from_db()
    assert job.attempt == 2 and job.license_key_id == studio.key.pk


def test_a_recording_becomes_the_audio_of_a_job(studio, page):
    log_in(page)
    choose(page, "Built-in character")
    page.locator("label.pick-card", has_text="Sam").click()
    choose(page, "Upload or record audio")
    status = page.locator("[data-record-status]")
    page.get_by_role("button", name="Record").click()
    expect(status).to_contain_text("Recording…")
    expect(page.locator(".recorder")).to_have_class(re.compile("is-recording"))
    page.wait_for_timeout(2000)
    page.get_by_role("button", name="Stop").click()
    expect(status).to_contain_text("Recorded", timeout=15_000)
    recorded = page.evaluate("""() => {
        const file = document.getElementById('id_audio_file').files[0];
        return {name: file.name, type: file.type, size: file.size};
    }""")
    assert recorded["name"] == "recording.wav" and recorded["type"] == "audio/wav" and recorded["size"] > 44, recorded
    playback = page.locator('[data-preview="id_audio_file"] audio')
    expect(playback).to_be_visible()
    heard = playback.evaluate(MEDIA_READY)
    assert heard["error"] is None and heard["duration"] > 1, heard
    expect(page.locator("#method-summary")).to_have_text("Built-in character + audio file")
    screenshot(page, "11-create-recorded")

    job = generate(page, "Recorded greeting")
    assert job.audio_type == Job.Audio.FILE and job.audio_file.name.endswith(".wav")
    watch_until_done(page, studio)


def test_the_basic_flow_works_without_javascript(studio, chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False,
                                   viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        log_in(page)
        choose(page, "Built-in character")
        page.locator("label.pick-card", has_text="Leo").click()
        say_with_voice(page, "No scripts were needed for this one.", voice="Echo")
        job = generate(page, "Without JavaScript")
        # (Chromium's script switch leaves the parser's scripting flag on, so <noscript> is
        # not rendered here; a browser with scripting off shows it.)
        assert "<noscript>" in page.content() and "does not update by itself" in page.content()
        wait_for_job(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).exists(), studio=studio)
        page.reload()
        expect(page.locator('[data-part="status"] .badge')).to_have_text("Done")
        expect(page.locator("video.player")).to_have_count(1)
        screenshot(page, "12-detail-without-javascript")
    finally:
        context.close()
