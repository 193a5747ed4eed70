"""Batches from a spreadsheet: reading CSV or XLSX, filling each row into the create
form's fields (a preset underneath, mapped columns, a text template with {column}
variables), validating every row with the form's own rules (front.job_inputs), and the
ZIP of results with its CSV manifest."""

import csv
import io
import re
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.text import slugify

from jobs import selectors
from jobs.models import Job

from . import presets
from .job_inputs import JobInputsForm

# Form fields a column may fill, in the words the mapping form shows.
TARGETS = {"title": "Title", "content": "Text to speak", "voice": "Voice", "audio_url": "Audio link",
           "character": "Character", "image_url": "Photo link", "video_url": "Video link",
           **{name: f"Setting: {name}" for name in Job.ADVANCED_DEFAULTS}}
GUESSES = {"text": "content", "script": "content", "speech": "content", "audio": "audio_url", "photo": "image_url",
           "image": "image_url", "video": "video_url", "name_of_video": "title"}
VARIABLE = re.compile(r"\{([^{}]+)\}")


def read_table(upload) -> tuple[list[str], list[dict]]:
    """(column names, rows as {column: text}) of an uploaded CSV or XLSX; ValidationError
    in words for a person when it cannot be read or has too many rows."""
    if upload.name.lower().endswith(".xlsx"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(upload, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for files that are not workbooks
            raise ValidationError("This file could not be read as an Excel workbook (.xlsx).") from None
        table = ([("" if v is None else str(v)) for v in row] for row in book.active.iter_rows(values_only=True))
    else:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("Save the spreadsheet as CSV UTF-8 (or as .xlsx) and upload it again.") from None
        dialect = csv.excel
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            pass
        table = csv.reader(io.StringIO(text), dialect)
    header = next(table, None)
    if not header or not any(h.strip() for h in header):
        raise ValidationError("The first row must name the columns (e.g. name, email, text).")
    columns = []
    for i, cell in enumerate(header):
        name = cell.strip() or f"column {i + 1}"
        columns.append(name if name not in columns else f"{name} ({i + 1})")
    rows = []
    for cells in table:
        if not any(c.strip() for c in cells):
            continue
        rows.append({col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(columns)})
        if len(rows) > settings.BATCH_MAX_ROWS:
            raise ValidationError(f"A batch has at most {settings.BATCH_MAX_ROWS:,} rows; split the spreadsheet.")
    if not rows:
        raise ValidationError("The spreadsheet has no rows under its header.")
    return columns, rows


def guess_mapping(columns: list[str]) -> dict:
    found = {}
    for column in columns:
        key = slugify(column).replace("-", "_")
        target = key if key in TARGETS else GUESSES.get(key)
        if target and target not in found:
            found[target] = column
    return found


def template_problem(template: str, columns: list[str]) -> str:
    unknown = sorted({name for name in VARIABLE.findall(template) if name not in columns})
    if unknown:
        return ("The template names columns the spreadsheet does not have: " + ", ".join(f"{{{n}}}" for n in unknown)
                + ". Columns: " + ", ".join(columns) + ".")
    return ""


def fill(template: str, values: dict) -> str:
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def row_data(batch, values: dict, user) -> dict:
    """The create form's data for one row."""
    data = {}
    for target, column in batch.mapping.items():
        if target in TARGETS and values.get(column):
            data[target] = values[column]
    if batch.template.strip():
        data["content"] = fill(batch.template, values).strip()
    # Without a preset the form picks the one face and the one voice filled in; on top of
    # a preset, a filled input of another option chooses that option.
    base = presets.preset_data(batch.preset, user) if batch.preset_id else {}
    if base:
        presets.with_sources(data, {})
    return {**base, **data}


def validate(batch, rows, user) -> list[tuple]:
    """[(row, form)] with each form validated by the create form's rules."""
    checked = []
    for row in rows:
        data = row_data(batch, row.values, user)
        form = JobInputsForm(data, {}, team=batch.team, user=user)
        form.said = data.get("content") or data.get("audio_url") or ""
        form.title_preview = form.job_inputs()["title"] if form.is_valid() else ""
        checked.append((row, form))
    return checked


def export_zip(batch, out) -> None:
    """Write the results of a batch's done rows (named by row) and manifest.csv to `out`."""
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["row", "title", "status", "failure reason", "result"])
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for row in batch.rows.select_related("job__license_key"):
            job = row.job
            if job is None:
                writer.writerow([row.number, "", "not sent", "", ""])
                continue
            name = ""
            if job.archive_status == Job.Archive.DONE and job.archive_file:
                name = f"{row.number:04d}-{slugify(job.title)[:60] or 'video'}.mp4"
                with default_storage.open(job.archive_file.name, "rb") as src, archive.open(name, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            reason = selectors.redacted_failure(job)["error_message"] if job.status == Job.Status.FAILED else ""
            writer.writerow([row.number, job.title, job.get_status_display(), reason,
                             name or (base + job.get_absolute_url())])
        archive.writestr("manifest.csv", manifest.getvalue())
