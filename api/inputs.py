"""A create or duplicate request's body turned into what front.job_inputs validates.

JSON bodies carry files as base64 strings (`video_file`, `image_file`, `audio_file`,
each with an optional `<field>_name`); multipart bodies carry real files under the same
names. Either way the same JobInputsForm (the create page's rules) decides.
"""

import base64
import binascii

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, QueryDict

from front import presets
from front.job_inputs import FILE_KIND, JobInputsForm, initial_from_job

SCALAR = (str, int, float, bool)


def form_data(request) -> tuple[dict, dict, dict]:
    """(data, files, errors) from a JSON or multipart body."""
    body = request.data
    errors: dict[str, list[str]] = {}
    if isinstance(body, QueryDict):
        data = {key: body.get(key) for key in body if key not in FILE_KIND}
        # A radio sent twice stays a list, so the form can say "Choose only one".
        for key in ("visual_source", "audio_source"):
            if len(body.getlist(key)) > 1:
                data[key] = body.getlist(key)
        files = {key: request.FILES[key] for key in FILE_KIND if key in request.FILES}
        return data, files, errors
    if not isinstance(body, dict):
        return {}, {}, {"non_field_errors": ["Send a JSON object (or a multipart form)."]}
    data, files = {}, {}
    for key, value in body.items():
        if key in FILE_KIND:
            if value in (None, ""):
                continue
            name = str(body.get(f"{key}_name") or key)
            try:
                if not isinstance(value, str):
                    raise ValueError
                files[key] = SimpleUploadedFile(name[:200], base64.b64decode(value, validate=True))
            except (ValueError, binascii.Error):
                errors[key] = ["Send the file's content as base64 text."]
        elif key.endswith("_name") and key[:-5] in FILE_KIND:
            continue
        elif value is None:
            continue
        elif isinstance(value, bool) or not isinstance(value, SCALAR):
            errors[key] = ["Send a text or a number."]
        else:
            data[key] = str(value)
    return data, files, errors


class _Data(dict):
    """A dict that reads like a QueryDict: a repeated value gives its last one to `get`
    and all of them to `getlist`."""

    def get(self, key, default=None):
        value = super().get(key, default)
        return value[-1] if isinstance(value, list) and value else value

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return value[-1] if isinstance(value, list) and value else value

    def getlist(self, key):
        value = super().get(key)
        return value if isinstance(value, list) else ([] if value is None else [value])

    def copy(self):
        return _Data(self)


def create_form(request, team, *, source_job=None) -> tuple[JobInputsForm, dict]:
    """The validated form for a create (or a duplicate of `source_job`, or a start from a
    `preset`) with the request's own values on top, plus errors in the body's encoding."""
    data, files, errors = form_data(request)
    base = {}
    if source_job is not None:
        base = {k: str(v) for k, v in initial_from_job(source_job).items() if v not in (None, "")}
    if data.get("preset") not in (None, ""):
        try:
            preset = presets.preset_for(team, data.pop("preset"))
        except Http404:
            errors["preset"] = ["Choose one of your team's presets (see /api/v1/presets/)."]
        else:
            base = {**base, **presets.preset_data(preset, request.user)}
    if base:
        presets.with_sources(data, files)
        data = {**base, **data}
    form = JobInputsForm(_Data(data), files, team=team, user=request.user)
    form.is_valid()
    return form, errors
