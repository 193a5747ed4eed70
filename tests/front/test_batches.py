"""Batches from a spreadsheet: CSV and XLSX read, columns mapped, a {column} template,
every row checked by the create form's rules before anything is sent, all rows sent at
once or none (limits and quotas), failed rows retried, results exported as a ZIP with a
manifest."""

import csv
import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from automation.models import Batch, Preset
from jobs.models import Job

pytestmark = pytest.mark.django_db


def csv_file(rows, name="customers.csv"):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8-sig"), content_type="text/csv")


CUSTOMERS = [["name", "voice", "title"]] + [[f"Customer {i}", "nova", f"Welcome {i}"] for i in range(1, 21)]


def upload(client, file):
    answer = client.post("/batches/", {"file": file})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return Batch.objects.latest("id")


def test_twenty_rows_with_a_template_are_previewed_then_sent_at_once(logged_in, alice, characters):
    batch = upload(logged_in, csv_file(CUSTOMERS))
    assert batch.rows.count() == 20 and batch.mapping == {"voice": "voice", "title": "title"}
    page = logged_in.post(f"/batches/{batch.pk}/", {"map_voice": "voice", "map_title": "title",
                                                     "map_character": "", "template": "Hello {name}, welcome!"})
    body = page.content.decode()
    assert "row--invalid" in body  # no face chosen yet: every row says so
    preset = Preset.objects.create(team=alice.teams.first(), name="Leo", visual_type="character",
                                   character_name="navtalk.Leo")
    page = logged_in.post(f"/batches/{batch.pk}/", {"map_voice": "voice", "map_title": "title",
                                                     "template": "Hello {name}, welcome!", "preset": preset.pk})
    assert "Every row is valid. Sending makes 20 videos" in page.content.decode()
    assert not Job.objects.exists()
    logged_in.post(f"/batches/{batch.pk}/submit/")
    jobs = list(Job.objects.order_by("id"))
    assert [j.content for j in jobs] == [f"Hello Customer {i}, welcome!" for i in range(1, 21)]
    assert {(j.character_name, j.voice, j.created_by.username) for j in jobs} == {("navtalk.Leo", "nova", "alice")}
    assert [r.job_id for r in batch.rows.all()] == [j.pk for j in jobs]
    status_page = logged_in.get(f"/batches/{batch.pk}/").content.decode()
    assert status_page.count("Queued") == 20 and "Welcome 7" in status_page


def test_rows_with_errors_are_shown_with_the_forms_words_and_nothing_is_sent(logged_in, alice, characters):
    rows = [["character", "text", "voice"], ["navtalk.Leo", "Hi", "nova"], ["navtalk.Leo", "Hi", "nobody"],
            ["navtalk.Nobody", "Hi", "nova"]]
    batch = upload(logged_in, csv_file(rows))
    body = logged_in.get(f"/batches/{batch.pk}/").content.decode()
    assert "2 rows need attention" in body
    assert "<strong>voice</strong>: Choose one of the listed voices." in body
    assert "<strong>character</strong>: That character is not available; choose another." in body
    logged_in.post(f"/batches/{batch.pk}/submit/")
    assert not Job.objects.exists()
    unknown = logged_in.post(f"/batches/{batch.pk}/", {"map_character": "character", "template": "Hi {nme}"})
    assert 'id="error-template">The template names columns the spreadsheet does not have: {nme}.' in \
        unknown.content.decode()


def test_a_limit_refuses_the_whole_batch(logged_in, alice, characters, settings, make_job):
    settings.JOB_RATE_PER_USER_PER_MINUTE = 5  # a batch is one action (tests/jobs/test_waiting.py)
    for _ in range(5):
        make_job(alice)
    rows = [["character", "text", "voice"]] + [["navtalk.Leo", f"Hi {i}", "nova"] for i in range(6)]
    batch = upload(logged_in, csv_file(rows))
    answer = logged_in.post(f"/batches/{batch.pk}/submit/", follow=True)
    assert "Nothing was sent: You have created 5 videos in the last minute" in answer.content.decode()
    assert Job.objects.count() == 5 and not batch.rows.exclude(job=None).exists()
    assert Batch.objects.get(pk=batch.pk).submitted_at is None


def test_an_xlsx_file_is_read_like_a_csv(logged_in, alice, characters):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Character", "Text", "Voice"])
    book.active.append(["navtalk.Leo", "From Excel", "ash"])
    book.active.append([None, None, None])
    out = io.BytesIO()
    book.save(out)
    batch = upload(logged_in, SimpleUploadedFile("list.xlsx", out.getvalue()))
    assert batch.columns == ["Character", "Text", "Voice"] and batch.rows.count() == 1
    assert batch.mapping == {"character": "Character", "content": "Text", "voice": "Voice"}
    bad = logged_in.post("/batches/", {"file": SimpleUploadedFile("x.xlsx", b"not a workbook")})
    assert 'id="error-file">This file could not be read as an Excel workbook (.xlsx).' in bad.content.decode()


def test_failed_rows_are_retried_and_results_exported_with_a_manifest(logged_in, alice, characters, media_root):
    rows = [["character", "text", "voice", "title"], ["navtalk.Leo", "One", "nova", "First one"],
            ["navtalk.Leo", "Two", "nova", "Second one"]]
    batch = upload(logged_in, csv_file(rows))
    logged_in.post(f"/batches/{batch.pk}/submit/")
    first, second = (r.job for r in batch.rows.select_related("job"))
    Job.objects.filter(pk=first.pk).update(status="done", archive_status="done")
    first.refresh_from_db()
    first.archive_file.save("r.mp4", ContentFile(b"MP4-ONE"), save=True)
    Job.objects.filter(pk=second.pk).update(status="failed", error_category="timeout", error_message="Too slow")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(logged_in.get(f"/batches/{batch.pk}/results.zip").streaming_content)))
    assert archive.read("0001-first-one.mp4") == b"MP4-ONE"
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode())))
    assert manifest[0] == ["row", "title", "status", "failure reason", "result"]
    assert manifest[1][:4] == ["1", "First one", "Done", ""] and manifest[1][4] == "0001-first-one.mp4"
    assert manifest[2][:4] == ["2", "Second one", "Failed", "Too slow"]
    logged_in.post(f"/batches/{batch.pk}/retry/")
    second.refresh_from_db()
    assert (second.status, second.attempt) == ("queued", 2)


def test_the_batch_page_shows_rows_in_pages_with_counts_of_all(logged_in, alice, characters):
    rows = [["character", "text", "voice", "title"]] + [["navtalk.Leo", "Hi", "nova", f"Row {i}"]
                                                        for i in range(1, 121)]
    batch = upload(logged_in, csv_file(rows))
    logged_in.post(f"/batches/{batch.pk}/submit/")
    first = logged_in.get(f"/batches/{batch.pk}/").content.decode()
    assert "120 rows sent" in first and ">Row 100<" in first and ">Row 101<" not in first
    second = logged_in.get(f"/batches/{batch.pk}/?page=2").content.decode()
    assert ">Row 101<" in second and ">Row 120<" in second and ">Row 100<" not in second


def test_retried_rows_wait_their_turn_behind_the_in_flight_limit(logged_in, alice, characters, settings,
                                                                django_capture_on_commit_callbacks):
    """Retrying a batch's failed rows (the page's and the API's path) sends only as many as
    JOB_MAX_IN_FLIGHT_PER_USER leaves room for; the rest are released as jobs end."""
    from jobs import limits, services

    settings.JOB_MAX_IN_FLIGHT_PER_USER = 3
    rows = [["character", "text", "voice", "title"]] + [["navtalk.Leo", f"Hi {i}", "nova", f"Row {i}"]
                                                        for i in range(1, 9)]
    batch = upload(logged_in, csv_file(rows))
    logged_in.post(f"/batches/{batch.pk}/submit/")
    assert Job.objects.filter(limits.WAITING).count() == 5
    Job.objects.update(status="failed", error_category="timeout", error_message="Too slow", next_poll_at=None)

    def sent():
        return Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).exclude(limits.WAITING).count()

    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(f"/batches/{batch.pk}/retry/")
    assert Job.objects.filter(status="queued", attempt=2).count() == 8
    assert sent() == 3 and Job.objects.filter(limits.WAITING).count() == 5
    waiting_one = Job.objects.filter(limits.WAITING).order_by("pk").first()
    assert "waits its turn" in waiting_one.events.order_by("id").last().message
    with django_capture_on_commit_callbacks(execute=True):  # two end: two more go
        for job in Job.objects.exclude(limits.WAITING).filter(status="queued").order_by("pk")[:2]:
            assert services.transition(job, Job.Status.DONE, "Done")
    assert sent() == 3 and Job.objects.filter(limits.WAITING).count() == 3
