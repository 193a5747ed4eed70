"""Batches on the portal: upload a CSV or XLSX, map its columns (and a text template with
{column} variables, and a preset), preview every row validated with its errors and the
quota it will use, then send all rows at once (all or nothing: one transaction through
jobs.services.job_create, so its limits and quotas hold). The batch page shows each row's
status, retries failed rows, and exports a ZIP of the results with a CSV manifest."""

import tempfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.permissions import permission_required
from automation.models import Batch, BatchRow
from jobs import quotas, services
from jobs.limits import JobLimitReached
from jobs.models import Job
from keys.selection import key_for_team

from . import batch_rows, presets

ROWS_PER_PAGE = 100  # the batch page shows rows in pages (counts cover them all)


class UploadForm(forms.Form):
    file = forms.FileField(label="Spreadsheet (CSV or Excel .xlsx)", widget=forms.FileInput(
        attrs={"accept": ".csv,.xlsx,text/csv"}), error_messages={"required": "Choose a CSV or .xlsx file."})


def _batch(request, pk) -> Batch:
    try:
        return Batch.objects.select_related("preset").get(pk=int(pk), team=request.team)
    except (ValueError, Batch.DoesNotExist):
        raise Http404("No such batch in your team.") from None


@permission_required(perms.CREATE_JOB)
def new(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            columns, rows = batch_rows.read_table(upload)
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            with transaction.atomic():
                batch = Batch.objects.create(team=request.team, created_by=request.user, name=upload.name[:200],
                                             columns=columns, mapping=batch_rows.guess_mapping(columns))
                BatchRow.objects.bulk_create([BatchRow(batch=batch, number=i, values=values)
                                              for i, values in enumerate(rows, start=1)])
            return redirect("jobs:batch", batch.pk)
    batches = Batch.objects.filter(team=request.team).select_related("created_by")[:20]
    return render(request, "jobs/batch_new.html", {"form": form, "batches": batches})


def _preview(request, batch, status=200):
    rows = list(batch.rows.all())
    checked = batch_rows.validate(batch, rows, request.user)
    bad = [(row, form) for row, form in checked if form.errors]
    texts = [form.cleaned_data.get("content") or "" for _, form in checked if not form.errors]
    seconds = sum(quotas.estimate_seconds(Job.Audio.TEXT if text else "", text) for text in texts)
    context = {"batch": batch, "checked": checked, "bad": len(bad), "seconds": round(seconds),
               "targets": batch_rows.TARGETS, "presets": presets.team_presets(request.team),
               "template_problem": batch_rows.template_problem(batch.template, batch.columns),
               "rate": settings.JOB_RATE_PER_USER_PER_MINUTE}
    return render(request, "jobs/batch_preview.html", context, status=status)


@permission_required(perms.VIEW)
def batch_page(request, pk):
    batch = _batch(request, pk)
    if batch.submitted_at:
        counts = dict.fromkeys(Job.Status.values, 0)
        for row in batch.rows.values("job__status").annotate(n=Count("id")):
            counts[row["job__status"]] = row["n"]
        total = sum(counts.values())
        try:
            page = max(1, int(request.GET.get("page", 1)))
        except ValueError:
            page = 1
        start = (page - 1) * ROWS_PER_PAGE
        rows = list(batch.rows.filter(number__gt=start, number__lte=start + ROWS_PER_PAGE)
                    .select_related("job").only("number", "job__title", "job__code", "job__status",
                                                "job__error_category"))
        return render(request, "jobs/batch.html", {
            "batch": batch, "rows": rows, "counts": counts, "total": total, "page": page,
            "previous": page - 1 if page > 1 else None, "next": page + 1 if start + ROWS_PER_PAGE < total else None,
            "in_flight": any(counts[s] for s in Job.IN_FLIGHT_STATUSES)})
    perms.require(request, perms.CREATE_JOB)
    if request.method == "POST":  # the mapping, template and preset
        batch.mapping = {t: c for t in batch_rows.TARGETS if (c := request.POST.get(f"map_{t}")) in batch.columns}
        batch.template = request.POST.get("template", "")[:settings.TEXT_MAX_CHARS * 2]
        preset_id = request.POST.get("preset") or ""
        batch.preset = presets.preset_for(request.team, preset_id) if preset_id else None
        batch.save(update_fields=["mapping", "template", "preset"])
    return _preview(request, batch)


@require_POST
@permission_required(perms.CREATE_JOB)
def submit(request, pk):
    batch = _batch(request, pk)
    if batch.submitted_at:
        return redirect("jobs:batch", batch.pk)
    checked = batch_rows.validate(batch, list(batch.rows.all()), request.user)
    key = key_for_team(request.team)
    if any(form.errors for _, form in checked) or batch_rows.template_problem(batch.template, batch.columns):
        messages.error(request, "Nothing was sent: fix the rows with errors first (see below).")
        return redirect("jobs:batch", batch.pk)
    if key is None:
        messages.error(request, "Your team has no active license key, so no video can be made yet.")
        return redirect("jobs:batch", batch.pk)
    try:
        with transaction.atomic():  # all rows or none
            for row, form in checked:
                row.job = services.job_create(team=request.team, user=request.user, license_key=key,
                                              **form.job_inputs())
            BatchRow.objects.bulk_update([row for row, _ in checked], ["job"])
            Batch.objects.filter(pk=batch.pk).update(submitted_at=timezone.now())
    except JobLimitReached as exc:
        messages.error(request, f"Nothing was sent: {exc.message}")
        return redirect("jobs:batch", batch.pk)
    messages.success(request, f"{len(checked)} videos are being made.")
    return redirect("jobs:batch", batch.pk)


@require_POST
@permission_required(perms.RETRY_JOB)
def retry_failed(request, pk):
    batch = _batch(request, pk)
    sent = 0
    for row in batch.rows.select_related("job").filter(job__status__in=[Job.Status.FAILED, Job.Status.CANCELED]):
        if not perms.allowed(request.role, perms.RETRY_JOB, user=request.user, job=row.job):
            continue
        try:
            sent += services.job_retry(row.job, request.user)
        except JobLimitReached as exc:
            messages.error(request, exc.message)
            break
    messages.info(request, f"{sent} failed rows sent again.")
    return redirect("jobs:batch", batch.pk)


@permission_required(perms.DOWNLOAD)
def export(request, pk):
    batch = _batch(request, pk)
    out = tempfile.SpooledTemporaryFile(max_size=32 << 20)
    batch_rows.export_zip(batch, out)
    out.seek(0)
    name = (slugify(batch.name.rsplit(".", 1)[0]) or "batch") + "-results.zip"
    return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")
