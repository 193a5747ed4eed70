"""Presets on the portal's pages: start the create form from one, save one from a job or
from the form, list and delete them. A preset only fills the create form (its face, voice
and sliders); the form's own rules (front.job_inputs) decide, so nothing is checked twice.
"""

from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.permissions import permission_required
from automation.models import Preset
from jobs import selectors
from jobs.models import Job, upload_to

from .forms import CreateJobForm
from .job_inputs import FILE_KIND, SOURCE_INPUTS, VISUAL_TYPE, kept_token

VISUAL_FIELDS = ("visual_source", "video_file", "video_url", "image_file", "image_url", "character")


def team_presets(team):
    return Preset.objects.filter(team=team).select_related("created_by")


def preset_for(team, pk) -> Preset:
    try:
        return team_presets(team).get(pk=int(pk))
    except (ValueError, TypeError, Preset.DoesNotExist):
        raise Http404("No such preset in your team.") from None


def preset_data(preset: Preset, user) -> dict:
    """The create form's values for `preset` (an uploaded face travels as a kept-upload
    token bound to `user`, as a file kept from a rejected form does)."""
    data = {name: str(preset.params.get(name, default)) for name, default in Job.ADVANCED_DEFAULTS.items()}
    if preset.visual_type == Job.Visual.CHARACTER:
        data.update(visual_source="character", character=preset.character_name)
    else:
        kind = "video" if preset.visual_type == Job.Visual.VIDEO else "image"
        if preset.visual_url:
            data.update({"visual_source": f"{kind}_url", f"{kind}_url": preset.visual_url})
        else:
            data.update({"visual_source": f"{kind}_file",
                         f"kept_{kind}_file": kept_token(preset.visual_file, user.pk, f"{kind}_file")})
    if preset.voice:
        data.update(audio_source="content", voice=preset.voice)
    return data


def with_sources(data: dict, files: dict) -> None:
    """On top of a preset or a job: a changed input of another option chooses that option
    (video_url → Video link), unless the radio itself was given."""
    for radio, options in SOURCE_INPUTS.items():
        if radio not in data:
            changed = [opt for opt, inputs in options.items() if inputs[0] in data or inputs[0] in files]
            if len(changed) == 1:
                data[radio] = changed[0]


def create_form_from_preset(request, preset: Preset, default_initial: dict) -> CreateJobForm:
    """The create page's (unbound) form started from a preset."""
    data = preset_data(preset, request.user)
    kept = {key.removeprefix("kept_"): data.pop(key) for key in list(data) if key.startswith("kept_")}
    form = CreateJobForm(team=request.team, user=request.user, initial={**default_initial, **data})
    form.kept_tokens.update(kept)
    for option in kept:
        form.file_notices[option] = f"The preset “{preset.name}”'s file is used: choose a file only to change it."
    return form


def _save(request, fields: dict) -> tuple[Preset | None, str]:
    """(the new preset, "") or (None, what is wrong), from the posted name and description."""
    name = (request.POST.get("preset_name") or "").strip()[:100]
    if not name:
        return None, "The preset was not saved: give it a name."
    try:
        with transaction.atomic():
            preset = Preset.objects.create(team=request.team, created_by=request.user, name=name,
                                           description=(request.POST.get("preset_description") or "").strip()[:300],
                                           **fields)
    except IntegrityError:
        return None, f"Your team already has a preset named “{name}”. Choose another name."
    return preset, ""


def fields_from_job(job: Job) -> dict:
    return {"visual_type": job.visual_type, "visual_url": job.visual_url,
            "visual_file": job.visual_file.name if job.visual_file else "", "character_name": job.character_name,
            "voice": job.voice, "params": dict(job.params or {})}


@require_POST
@permission_required(perms.CREATE_JOB)
def save_from_job(request, code):
    job = selectors.job_for(request.team, code)
    preset, problem = _save(request, fields_from_job(job))
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, "Preset saved. Choose it on the create page to start from it.")
    return redirect(job)


@require_POST
@permission_required(perms.CREATE_JOB)
def save_from_form(request):
    """"Save as preset" on the create form: the face, voice and sliders as filled in, checked
    by the form's rules (the text or audio does not matter for a preset). The page comes
    back with everything typed still there, and chosen files kept."""
    from .views import _create_page  # the create page itself (views imports this module)

    form = CreateJobForm(request.POST, request.FILES, team=request.team, user=request.user)
    form.is_valid()
    visual = form.chosen.get("visual_source")
    voice = (request.POST.get("voice") or "").strip()
    if voice and voice not in Job.VOICES or not visual or any(
            f in VISUAL_FIELDS or f in Job.ADVANCED_DEFAULTS for f in form.errors):
        form.add_error(None, "The preset was not saved: the face or the settings need attention (see beside them).")
        return _create_page(request, form, source_job=form.reuse_job)
    fields = {"visual_type": VISUAL_TYPE[visual], "visual_url": "", "visual_file": "", "character_name": "",
              "voice": voice, "params": form.params}
    kept = {}
    if visual == "character":
        fields["character_name"] = form.character_obj.name
    elif visual in FILE_KIND:
        fields["visual_file"] = form.reused.get(visual) or default_storage.save(
            upload_to(None, f"upload.{form.extensions[visual]}"), form.cleaned_data[visual])
        kept[visual] = kept_token(fields["visual_file"], request.user.pk, visual)
    else:
        fields["visual_url"] = form.cleaned_data[visual]
    preset, problem = _save(request, fields)
    if problem:
        form.add_error(None, problem)
        return _create_page(request, form, source_job=form.reuse_job)
    audio_upload = form.cleaned_data.get("audio_file") if "audio_file" in form.extensions else None
    if audio_upload:
        kept["audio_file"] = kept_token(default_storage.save(
            upload_to(None, f"upload.{form.extensions['audio_file']}"), audio_upload), request.user.pk, "audio_file")
    typed = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "preset_name",
                                                               "preset_description") and not k.startswith("kept_")}
    fresh = CreateJobForm(team=request.team, user=request.user, initial={**typed, "preset": preset.pk})
    fresh.kept_tokens.update(kept)
    for option in kept:
        fresh.file_notices[option] = "The file you chose is kept: choose a file only to use a different one."
    messages.success(request, f"Preset “{preset.name}” saved. Everything you entered is still here.")
    return _create_page(request, fresh)


@permission_required(perms.VIEW)
def presets_page(request):
    return render(request, "jobs/presets.html", {"presets": team_presets(request.team),
                                                 "can_create": perms.allowed(request.role, perms.CREATE_JOB)})


@require_POST
@permission_required(perms.CREATE_JOB)
def delete(request, pk):
    preset = preset_for(request.team, pk)
    if not (perms.allowed(request.role, perms.MANAGE_MEMBERS) or preset.created_by_id == request.user.pk):
        messages.error(request, "Only the person who made this preset, or a team admin, can delete it.")
    else:
        preset.delete()
        messages.success(request, f"Preset “{preset.name}” deleted. Videos made with it are not affected.")
    return redirect("jobs:presets")
