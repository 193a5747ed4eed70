"""A batch in a real browser, end to end: a 20-row CSV with a {column} text template is
uploaded, previewed (every row valid), sent under the default limits (ten at a time, the
others waiting their turn), made by the local engine through a real worker, and downloaded as a ZIP whose 20 videos play (FFmpeg decodes frames with a
duration) and whose manifest names them row by row."""

import csv
import io
import re
import zipfile

import av
from playwright.sync_api import expect

from automation.models import Batch
from jobs import limits
from jobs.models import Job
from tests.browser.conftest import log_in, screenshot, wait_for_job

ROWS = 20
NAMES = ["Ada", "Alan", "Anna", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ian", "Jo", "Kai", "Lea",
         "Max", "Nia", "Oli", "Pia", "Rex", "Sam"]


def probe(path) -> dict:
    """FFmpeg (through PyAV) decodes the video stream: frames decoded and the duration."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        return {"codec": stream.codec_context.name, "frames": frames, "duration": duration}


def test_a_20_row_csv_with_a_template_becomes_a_zip_of_videos_that_play(studio, page, tmp_path, settings):
    # The default limits (the worker has them too): ten are sent at once, the others wait
    # their turn and go as those end (jobs.waiting, from the worker).
    settings.JOB_RATE_PER_USER_PER_MINUTE, settings.JOB_MAX_IN_FLIGHT_PER_USER = 10, 10
    table = io.StringIO()
    csv.writer(table).writerows([["name", "character", "voice"]] + [[n, "navtalk.Leo", "nova"] for n in NAMES])
    log_in(page)
    page.goto("/batches/")
    page.get_by_label("Spreadsheet (CSV or Excel .xlsx)").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": table.getvalue().encode()}])
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    page.get_by_label("Title").select_option("name")
    page.get_by_label("Text to speak, with {column} variables").fill("Hi {name}.")
    page.get_by_role("button", name="Check the rows again").click()
    expect(page.get_by_text(f"Every row is valid. Sending makes {ROWS} videos")).to_be_visible()
    screenshot(page, "batch-preview")
    assert not Job.objects.exists()  # the preview sent nothing
    page.get_by_role("button", name=f"Send all {ROWS} rows").click()
    expect(page.get_by_text(f"{ROWS} videos are being made")).to_be_visible()
    batch = Batch.objects.get()
    assert Job.objects.filter(events__message__contains="waits its turn").count() == ROWS
    assert Job.objects.exclude(limits.WAITING).count() <= 10
    assert sorted(Job.objects.values_list("content", flat=True)) == sorted(f"Hi {n}." for n in NAMES)
    wait_for_job(lambda: Job.objects.filter(status="done", archive_status="done").count() == ROWS, timeout=150,
                 studio=studio)
    page.reload()
    expect(page.get_by_text(f"{ROWS} done")).to_be_visible()
    screenshot(page, "batch-done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the results (ZIP with manifest.csv)").click()
    zipped = tmp_path / "results.zip"
    download.value.save_as(zipped)
    archive = zipfile.ZipFile(zipped)
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    videos = sorted(n for n in archive.namelist() if n.endswith(".mp4"))
    assert len(manifest) == ROWS and len(videos) == ROWS
    assert [m["row"] for m in manifest] == [str(i) for i in range(1, ROWS + 1)]
    assert [m["title"] for m in manifest] == NAMES and {m["status"] for m in manifest} == {"Done"}
    assert [m["result"] for m in manifest] == [f"{i:04d}-{n.lower()}.mp4" for i, n in enumerate(NAMES, start=1)]
    assert videos == sorted(m["result"] for m in manifest)
    archive.extractall(tmp_path / "out")
    for name in videos:
        info = probe(tmp_path / "out" / name)
        assert info["codec"] == "h264" and info["frames"] > 0 and info["duration"] > 0, (name, info)
    assert batch.rows.filter(job__status="done").count() == ROWS
