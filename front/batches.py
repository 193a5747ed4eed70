"""Batches on the portal: upload a CSV or XLSX, map its columns (and a text template with
{column} variables, and a preset), preview every row validated with its errors and the
quota it will use, then send all rows at once (all or nothing, front.batch_actions: the
API's code path too). The batch page shows each row's status, retries failed rows, and
exports a ZIP of the results with a CSV manifest."""

import tempfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.permissions import permission_required
from automation.models import Batch
from jobs.models import Job

from . import batch_actions, batch_rows, presets

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
            batch = batch_actions.create(team=request.team, user=request.user, name=upload.name, columns=columns,
                                         rows=rows)
            return redirect("jobs:batch", batch.pk)
    batches = Batch.objects.filter(team=request.team).select_related("created_by")[:20]
    return render(request, "jobs/batch_new.html", {"form": form, "batches": batches})


def _preview(request, batch, status=200):
    result = batch_actions.check(batch, request.user)
    context = {"batch": batch, "checked": result["checked"], "bad": result["invalid"],
               "seconds": round(result["seconds"]), "targets": batch_rows.TARGETS,
               "presets": presets.team_presets(request.team), "template_problem": result["template_problem"],
               "in_flight": settings.JOB_MAX_IN_FLIGHT_PER_USER}
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
    try:
        jobs = batch_actions.submit(batch, request.user)  # the API's submit too: one code path
    except batch_actions.BatchRefused as exc:
        see_below = exc.message == batch_actions.HAS_ERRORS
        messages.error(request, exc.message.removesuffix(".") + " (see below)." if see_below else exc.message)
        return redirect("jobs:batch", batch.pk)
    waiting = sum(job.status == Job.Status.AWAITING_APPROVAL for job in jobs)
    messages.success(request, f"{len(jobs)} videos are being made." if not waiting else
                     f"{len(jobs)} videos saved; {waiting} wait for a team admin's approval before they are made.")
    return redirect("jobs:batch", batch.pk)


@require_POST
@permission_required(perms.RETRY_JOB)
def retry_failed(request, pk):
    batch = _batch(request, pk)
    sent, refused = batch_actions.retry_failed(batch, request.user, request.role)
    if refused:
        messages.error(request, refused)
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
