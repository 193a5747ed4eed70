"""The engine's HTTP API, as NavTalk documents it (navtalk-api/video-synthesis-api.txt):

    POST /engine/generate        JSON body -> {"status": "started", "task_id": …}
    GET  /engine/query_status    ?license=…&task_id=… -> started | processing | done | failed
    GET  /engine/media/<token>.mp4  the result, under a signed, expiring link (single ranges)
    GET  /engine/stats           ?license=… -> call counts, for tests and benchmarks

The license is checked first (401), then the call is counted, then the per-call
faults apply (engine.faults), then the request is validated (400 with per-field
messages). The license is never logged or stored; only its sha256 fingerprint is.
"""


from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from lib.ranged import parse_range, ranged_storage_response  # noqa: F401 (parse_range: tests)

from . import body as body_stream
from . import faults, services, validate


def _error(status: int, message: str, errors: dict | None = None, **headers) -> JsonResponse:
    body = {"status": "error", "message": message}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _not_allowed(allowed: str) -> JsonResponse:
    return _error(405, f"Use {allowed} for this endpoint.", Allow=allowed)


def _invalid_license(missing: bool) -> JsonResponse:
    detail = ("license is required: send your license key as \"license\"." if missing
              else "This license is not known to the engine. Check the key, or ask an admin for one.")
    return _error(401, "Invalid license", {"license": detail})


def _injected(spec: faults.FaultSpec) -> HttpResponse | None:
    fault = faults.call_fault(spec, services.default_seed())
    if fault is None:
        return None
    if fault == "429":
        response = _error(429, f"Too many requests (injected fault). Retry after {spec.retry_after:g} s.",
                          Retry_After=f"{spec.retry_after:g}")
    elif fault in ("500", "503"):
        response = _error(int(fault), "The engine is temporarily unavailable (injected fault). Try again.")
    else:  # a 200 whose body is cut short: not JSON
        response = HttpResponse('{"status": "sta', content_type="application/json")
    # Injected on purpose: keep Django from logging thousands of them as server errors.
    response._has_been_logged = True
    return response


def _body_limit() -> int:
    """Largest body accepted: base64 audio up to ENGINE_FETCH_MAX_MB, plus the rest."""
    return settings.ENGINE_FETCH_MAX_MB * 1024 * 1024 * 4 // 3 + 1024 * 1024


@csrf_exempt
def generate(request):
    if request.method != "POST":
        return _not_allowed("POST")
    limit = _body_limit()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return _error(413, f"The request is larger than {limit // 1048576} MB. Send audio_url instead of audio_base64.")
    # Streamed to a spool file while the license is picked out (engine.body): a body
    # with a wrong license is refused without ever being parsed or held in memory.
    received = body_stream.read_body(request, limit)
    try:
        if received.too_large:
            return _error(413, f"The request is larger than {limit // 1048576} MB. "
                               "Send audio_url instead of audio_base64.")
        if received.size > body_stream.SPOOL_BYTES and services.resolve_caller(received.license) is None:
            return _invalid_license(missing=received.license in (None, ""))
        raw = received.read()
    finally:
        received.close()
    try:  # depth-bounded: a 100,000-deep [[[…]]] is a 400, not a RecursionError
        body = validate.parse_json_body(raw)
    except validate.BadBody as exc:
        return _error(400, str(exc), {"body": str(exc)})
    if not isinstance(body, dict):
        return _error(400, "The request body must be a JSON object.", {"body": "not a JSON object"})
    caller = services.resolve_caller(body.get("license"))
    if caller is None:
        return _invalid_license(missing=body.get("license") in (None, ""))
    services.count_call(caller.fingerprint, "generate_calls")
    injected = _injected(caller.faults)
    if injected is not None:
        return injected
    cleaned, errors = validate.validate_generate(
        body, content_max_chars=settings.ENGINE_CONTENT_MAX_CHARS,
        audio_max_bytes=settings.ENGINE_FETCH_MAX_MB * 1024 * 1024)
    if errors:
        return _error(400, validate.error_message(errors), errors)
    task = services.create_task(caller, cleaned)
    return JsonResponse({"status": "started", "task_id": str(task.task_id)})


def _get_caller(request):
    """(caller, None) for a GET with a known ?license=, else (None, the error response)."""
    if request.method not in ("GET", "HEAD"):
        return None, _not_allowed("GET")
    license = request.GET.get("license")
    caller = services.resolve_caller(license)
    if caller is None:
        return None, _invalid_license(missing=not license)
    return caller, None


def query_status(request):
    caller, refused = _get_caller(request)
    if refused:
        return refused
    services.count_call(caller.fingerprint, "status_calls")
    injected = _injected(caller.faults)
    if injected is not None:
        return injected
    task_id = request.GET.get("task_id")
    if not task_id:
        return _error(400, "task_id is required: the task_id that /generate returned.",
                      {"task_id": "task_id is required"})
    task = services.find_task(caller.fingerprint, task_id)
    if task is None:
        return _error(404, "Task not found")
    response = JsonResponse(services.report(task, caller.faults))
    response["Cache-Control"] = "no-store"
    return response


def stats(request):
    caller, refused = _get_caller(request)
    if refused:
        return refused
    response = JsonResponse(services.call_counts(caller.fingerprint))
    response["Cache-Control"] = "no-store"
    return response


# --- media, with single-range requests (navtalk_portal.ranged) -------------------


def media(request, token):
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    task = services.task_for_media_token(token)  # signed and expiring: a task id alone is a 404
    try:
        name = services.media_file(task) if task else None
    except Exception:  # the instant clip could not be made (logged by services)
        return _error(503, "The engine could not prepare this video. Try again in a minute.")
    if name is None:
        return _error(404, "No video for this task (unknown task, or not done yet).")
    try:  # streamed from the engine's storage (filesystem or S3), one ranged read per range
        return ranged_storage_response(
            request, services.storage(), name, content_type="video/mp4", cache_control="private, max-age=3600",
            unsatisfiable=lambda size: _error(416, "The requested range is outside the file.",
                                              Content_Range=f"bytes */{size}"))
    except FileNotFoundError:
        return _error(404, "The video file is missing on the engine. Generate the video again.")
