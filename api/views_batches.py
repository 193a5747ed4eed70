"""Batches in the API, /api/v1/batches/: make one from an uploaded CSV/XLSX or from JSON
rows, set its column mapping, template and preset, preview every row (checked by the
create form's rules, errors keyed by row and field, and the quota it will use) without
sending anything, send all rows or none, follow each row's job, retry the failed rows
and download the ZIP of results with its CSV manifest. Every action is the portal's own
(front.batch_actions, front.batch_rows): the same rules, limits and quotas."""

import json
import tempfile
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, QueryDict
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions as perms
from automation.models import Batch
from front import batch_actions, batch_rows, presets
from jobs import limits
from jobs.models import Job

from . import schema
from . import serializers_batches as s
from .auth import refusal
from .errors import errors_response, message_response

ROWS_PER_PAGE_MAX = 200
BATCH_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The batch's id.")
ANSWERS = {400: schema.ERRORS, 403: schema.ERRORS, 404: schema.ERRORS, 409: schema.ERRORS, 429: schema.ERRORS}
SETTINGS_REQUEST = {
    "application/json": inline_serializer("BatchSettings", {k: v for k, v in s._batch_fields("json").items()
                                                            if k != "rows"}),
}


def _denied(request, action):
    reason = refusal(request.membership, action)
    return message_response(reason, status.HTTP_403_FORBIDDEN) if reason else None


def _batch(request, pk: str) -> Batch:
    """The team's batch, or a JSON 404 (also for an id that is not a number)."""
    try:
        pk = int(pk)
    except ValueError:
        raise Http404("No such batch in your team.") from None
    batch = (Batch.objects.filter(pk=pk, team=request.team).select_related("created_by")
             .annotate(row_count=Count("rows")).first())
    if batch is None:
        raise Http404("No such batch in your team.")
    return batch


def _apply_settings(request, batch, data) -> dict:
    """Mapping, template and preset from `data` onto `batch` (saved when valid); errors by field."""
    errors, fields = {}, []
    if "mapping" in data:
        mapping = data["mapping"]
        if isinstance(mapping, str):
            try:
                mapping = json.loads(mapping or "{}")
            except ValueError:
                mapping = None
        if not isinstance(mapping, dict):
            errors["mapping"] = ["Send an object: field -> column."]
        else:
            bad = [f"{target}: {column}" for target, column in mapping.items()
                   if target not in batch_rows.TARGETS or column not in batch.columns]
            if bad:
                errors["mapping"] = [f"Unknown field or column ({'; '.join(map(str, bad))}). Fields: "
                                     + ", ".join(batch_rows.TARGETS) + ". Columns: " + ", ".join(batch.columns) + "."]
            else:
                batch.mapping, fields = mapping, [*fields, "mapping"]
    if "template" in data:
        template = data["template"]
        if not isinstance(template, str) or len(template) > settings.TEXT_MAX_CHARS * 2:
            errors["template"] = [f"Send a text of at most {settings.TEXT_MAX_CHARS * 2} characters."]
        elif problem := batch_rows.template_problem(template, batch.columns):
            errors["template"] = [problem]
        else:
            batch.template, fields = template, [*fields, "template"]
    if "preset" in data:
        value = data["preset"]
        try:
            batch.preset = presets.preset_for(request.team, value) if value not in (None, "") else None
            fields.append("preset")
        except (Http404, ValueError, TypeError):
            errors["preset"] = ["Choose one of your team's presets (see /api/v1/presets/)."]
    if not errors and fields:
        batch.save(update_fields=fields)
    return errors


def _table(request) -> tuple[str, list, list, dict]:
    """(name, columns, rows, errors) from a multipart `file` or JSON `rows`."""
    data = request.data
    if isinstance(data, QueryDict):
        upload = request.FILES.get("file")
        if upload is None:
            return "", [], [], {"file": ["Choose a CSV or .xlsx file."]}
        try:
            columns, rows = batch_rows.read_table(upload)
        except ValidationError as exc:
            return "", [], [], {"file": exc.messages}
        return str(data.get("name") or upload.name), columns, rows, {}
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return "", [], [], {"rows": ["Send the table as a list of objects (column -> value), at least one row."]}
    if len(rows) > settings.BATCH_MAX_ROWS:
        return "", [], [], {"rows": [f"A batch has at most {settings.BATCH_MAX_ROWS:,} rows; split it."]}
    columns = list(dict.fromkeys(str(k).strip() for row in rows for k in row))
    if not columns or "" in columns:
        return "", [], [], {"rows": ["Name every column (no empty keys)."]}
    if any(not isinstance(v, str | int | float) or isinstance(v, bool) for row in rows for v in row.values()):
        return "", [], [], {"rows": ["Send each value as a text or a number."]}
    table = [{c: str(row.get(c, "")).strip() for c in columns} for row in rows]
    return str(data.get("name") or "API batch"), columns, table, {}


class BatchesView(APIView):
    @extend_schema(operation_id="batches_list", summary="The team's batches (newest first, 100)",
                   responses={200: s.BatchSerializer(many=True)})
    def get(self, request):
        batches = (Batch.objects.filter(team=request.team).select_related("created_by")
                   .annotate(row_count=Count("rows"))[:100])
        return Response(s.BatchSerializer(batches, many=True).data)

    @extend_schema(operation_id="batches_create", summary="A batch from a CSV/XLSX upload or JSON rows (nothing sent)",
                   request={"application/json": inline_serializer("CreateBatchJson", s._batch_fields("json")),
                            "multipart/form-data": inline_serializer("CreateBatchMultipart", s._batch_fields("file"))},
                   examples=[s.BATCH_EXAMPLE], responses={201: s.BatchSerializer, **ANSWERS})
    def post(self, request):
        if denied := _denied(request, perms.CREATE_JOB):
            return denied
        name, columns, rows, errors = _table(request)
        if errors:
            return errors_response(errors)
        batch = batch_actions.create(team=request.team, user=request.user, name=name, columns=columns, rows=rows)
        if errors := _apply_settings(request, batch, request.data):
            batch.delete()
            return errors_response(errors)
        return Response(s.BatchSerializer(_batch(request, batch.pk)).data, status=status.HTTP_201_CREATED)


class BatchView(APIView):
    @extend_schema(operation_id="batches_get", summary="A batch with each row's job and status (paginated)",
                   parameters=[BATCH_ID, OpenApiParameter("page", int, description="1, 2, …"),
                               OpenApiParameter("limit", int, description=f"Rows per page, 1–{ROWS_PER_PAGE_MAX}.")],
                   responses={200: s.BatchDetailSerializer, 400: schema.ERRORS, 404: schema.ERRORS})
    def get(self, request, pk):
        batch = _batch(request, pk)
        try:
            page = max(1, int(request.query_params.get("page", 1)))
            per_page = min(max(int(request.query_params.get("limit", 100)), 1), ROWS_PER_PAGE_MAX)
        except ValueError:
            return message_response("Enter a whole number.", 400, field="page")
        counts = {row["job__status"] or "not_sent": row["n"]
                  for row in batch.rows.order_by().values("job__status").annotate(n=Count("id"))}
        start = (page - 1) * per_page
        rows = batch.rows.select_related("job__license_key", "job__created_by").order_by("number")
        rows = rows[start:start + per_page]

        def link(number):
            return request.build_absolute_uri(f"{request.path}?{urlencode({'page': number, 'limit': per_page})}")

        data = s.BatchSerializer(batch).data
        data.update(counts=counts, results=s.RowSerializer(rows, many=True).data,
                    next=link(page + 1) if start + per_page < batch.row_count else None,
                    previous=link(page - 1) if page > 1 else None)
        return Response(data)

    @extend_schema(operation_id="batches_update", summary="Set the column mapping, template or preset (before sending)",
                   parameters=[BATCH_ID], request=SETTINGS_REQUEST, responses={200: s.BatchSerializer, **ANSWERS})
    def patch(self, request, pk):
        if denied := _denied(request, perms.CREATE_JOB):
            return denied
        batch = _batch(request, pk)
        if batch.submitted_at:
            return message_response("This batch was already sent.", status.HTTP_409_CONFLICT)
        if not isinstance(request.data, dict | QueryDict):
            return message_response("Send a JSON object.", 400)
        if errors := _apply_settings(request, batch, request.data):
            return errors_response(errors)
        return Response(s.BatchSerializer(_batch(request, pk)).data)


class PreviewView(APIView):
    @extend_schema(operation_id="batches_preview", parameters=[BATCH_ID],
                   summary="Every row checked by the create form's rules, and the quota sending will use",
                   responses={200: s.PreviewSerializer, 404: schema.ERRORS})
    def get(self, request, pk):
        batch = _batch(request, pk)
        result = batch_actions.check(batch, request.user)
        rows = [{"row": row.number, "title": getattr(form, "title_preview", ""), "said": form.said,
                 "errors": {k: [str(m) for m in v] for k, v in form.errors.items()}}
                for row, form in result["checked"]]
        valid = not result["invalid"] and not result["template_problem"]
        return Response({"valid": valid, "rows": len(rows), "invalid_rows": result["invalid"],
                         "quota": {"videos": len(rows) - result["invalid"], "seconds": round(result["seconds"], 1)},
                         "template_problem": result["template_problem"], "results": rows})


class SubmitView(APIView):
    @extend_schema(operation_id="batches_submit", parameters=[BATCH_ID], request=None,
                   summary="Send every row (all or none); rows beyond the in-flight limits wait their turn",
                   responses={201: s.SubmittedSerializer, **ANSWERS})
    def post(self, request, pk):
        if denied := _denied(request, perms.CREATE_JOB):
            return denied
        batch = _batch(request, pk)
        try:
            jobs = batch_actions.submit(batch, request.user)  # the portal's submit: one code path
        except batch_actions.BatchRefused as exc:
            code = {batch_actions.HAS_ERRORS: 400, batch_actions.NO_KEY: 409}.get(exc.message)
            if code is None:
                code = 409 if batch.submitted_at or "already sent" in exc.message else 429
            return message_response(exc.message + (" See /preview/." if code == 400 else ""), code)
        sending = Job.objects.filter(pk__in=[j.pk for j in jobs]).exclude(limits.WAITING).exclude(
            status=Job.Status.AWAITING_APPROVAL).count()
        return Response({"batch": batch.pk, "jobs": len(jobs), "sending_now": sending}, status=status.HTTP_201_CREATED)


class RetryView(APIView):
    @extend_schema(operation_id="batches_retry", parameters=[BATCH_ID], request=None,
                   summary="Send the failed and canceled rows again", responses={200: s.RetriedSerializer, **ANSWERS})
    def post(self, request, pk):
        if denied := _denied(request, perms.RETRY_JOB):
            return denied
        sent, refused = batch_actions.retry_failed(_batch(request, pk), request.user, request.membership.role)
        if refused and not sent:
            return message_response(refused, status.HTTP_429_TOO_MANY_REQUESTS)
        return Response({"sent": sent})


class ResultsView(APIView):
    @extend_schema(operation_id="batches_results", parameters=[BATCH_ID],
                   summary="ZIP of the results, named by row, with manifest.csv",
                   responses={(200, "application/zip"): OpenApiTypes.BINARY, 403: schema.ERRORS, 404: schema.ERRORS})
    def get(self, request, pk):
        if denied := _denied(request, perms.DOWNLOAD):
            return denied
        batch = _batch(request, pk)
        out = tempfile.SpooledTemporaryFile(max_size=32 << 20)
        batch_rows.export_zip(batch, out)
        out.seek(0)
        name = (slugify(batch.name.rsplit(".", 1)[0]) or "batch") + "-results.zip"
        return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")
