"""The inputs of a job and their rules, in one place: which face and which voice, links
(http(s), resolved to a public host), text limits, voices, sliders and uploads checked
by their content (front.uploads). The create form (front.forms) and the REST API (api/)
both validate with `JobInputsForm`, so neither keeps a second copy of a rule and a
field's message reads the same on the page and in a JSON error.

The two radios decide which inputs count; inputs of the options not chosen are ignored.
"""

import uuid
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import URLValidator

from jobs.models import Character, Job
from lib.addresses import link_problem, parse_origins
from navtalk import contract

from .uploads import audio_length, check_upload

V, A = Job.Visual, Job.Audio

# Radio value == the name of the input that counts when it is chosen.
VISUAL_SOURCES = [
    ("video_file", "Upload a video"),
    ("video_url", "Video link"),
    ("image_file", "Upload a photo"),
    ("image_url", "Photo link"),
    ("character", "Built-in character"),
]
AUDIO_SOURCES = [
    ("audio_file", "Upload audio"),
    ("audio_url", "Audio link"),
    ("content", "Type text"),
]
VISUAL_TYPE = {"video_file": V.VIDEO, "video_url": V.VIDEO, "image_file": V.IMAGE, "image_url": V.IMAGE,
               "character": V.CHARACTER}
AUDIO_TYPE = {"audio_file": A.FILE, "audio_url": A.URL, "content": A.TEXT}
SOURCE_INPUTS = {
    "visual_source": {"video_file": ["video_file"], "video_url": ["video_url"], "image_file": ["image_file"],
                      "image_url": ["image_url"], "character": ["character"]},
    "audio_source": {"audio_file": ["audio_file"], "audio_url": ["audio_url"], "content": ["content", "voice"]},
}
SOURCE_WORDS = {"visual_source": "face", "audio_source": "voice"}

# Advanced parameters with a numeric range: name -> (min, max), from the NavTalk contract.
RANGES = {name: (p.low, p.high) for name, p in contract.NUMBER_PARAMS.items()}
PARSING_MODES = list(contract.PARSING_MODES.items())

FILE_KIND = {"video_file": "video", "image_file": "image", "audio_file": "audio"}

http_url = URLValidator(schemes=["http", "https"], message="Enter a web link starting with http:// or https://.")


KEPT_SALT = "front.kept-upload"
KEPT_MAX_AGE = 24 * 3600  # a kept upload can be used for a day


def kept_token(storage_name: str, user_id, option: str) -> str:
    """A signed reference to an upload that passed validation on a rejected form, bound
    to the person and the file's option (so it cannot be replayed by someone else)."""
    return signing.dumps({"name": storage_name, "user": user_id, "option": option}, salt=KEPT_SALT, compress=True)


def kept_upload(token: str, user_id, option: str) -> str:
    """The storage name a kept-upload token refers to, or '' (tampered, expired, another
    person's, another option, or the file is gone)."""
    try:
        data = signing.loads(token, salt=KEPT_SALT, max_age=KEPT_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return ""
    if not isinstance(data, dict) or data.get("user") != user_id or data.get("option") != option:
        return ""
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith("uploads/") or ".." in name:
        return ""
    return name if default_storage.exists(name) else ""


class RangeInput(forms.NumberInput):
    input_type = "range"


def _url_name(url: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).stem
    return name.replace("_", " ").replace("-", " ").strip()


class JobInputsForm(forms.Form):
    """The inputs of one job and every rule they obey: the create page's form
    (front.forms.CreateJobForm adds only presentation) and the API both validate with
    it, so the messages per field are the same everywhere."""

    visual_source = forms.ChoiceField(choices=VISUAL_SOURCES, widget=forms.RadioSelect, required=False,
                                      error_messages={"invalid_choice": "Choose one of the listed faces."})
    video_file = forms.FileField(required=False, label="Video file (MP4 or MOV)",
                                 widget=forms.FileInput(attrs={"accept": "video/mp4,video/quicktime,.mp4,.mov"}))
    video_url = forms.CharField(required=False, max_length=2000, label="Link to a video (MP4 or MOV)",
                                widget=forms.URLInput(attrs={"placeholder": "https://example.com/clip.mp4"}))
    image_file = forms.FileField(required=False, label="Photo (JPG, PNG or WebP)",
                                 widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
    image_url = forms.CharField(required=False, max_length=2000, label="Link to a photo",
                                widget=forms.URLInput(attrs={"placeholder": "https://example.com/photo.jpg"}))
    character = forms.CharField(required=False, max_length=100, label="Character")

    audio_source = forms.ChoiceField(choices=AUDIO_SOURCES, widget=forms.RadioSelect, required=False,
                                     error_messages={"invalid_choice": "Choose one of the listed voices."})
    audio_file = forms.FileField(required=False, label="Audio file (MP3 or WAV)",
                                 widget=forms.FileInput(attrs={"accept": "audio/mpeg,audio/wav,.mp3,.wav"}))
    audio_url = forms.CharField(required=False, max_length=2000, label="Link to an audio file (MP3 or WAV)",
                                widget=forms.URLInput(attrs={"placeholder": "https://example.com/speech.mp3"}))
    content = forms.CharField(required=False, label="Text to speak", strip=True,
                              widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Welcome to NavTalk."}))
    voice = forms.CharField(required=False, max_length=10, label="Voice",
                            widget=forms.RadioSelect(choices=[(v, v) for v in Job.VOICES]))

    bbox_shift = forms.IntegerField(required=False, label="Mouth", widget=RangeInput(attrs={"step": 1}),
                                    help_text="less open ↔ more open")
    extra_margin = forms.IntegerField(required=False, label="Extra margin around the face (px)",
                                      widget=RangeInput(attrs={"step": 1}), help_text="tight ↔ loose")
    parsing_mode = forms.ChoiceField(required=False, choices=PARSING_MODES, widget=forms.RadioSelect,
                                     label="Jaw blending",
                                     error_messages={"invalid_choice": "Choose jaw or raw."})
    left_cheek_width = forms.IntegerField(required=False, label="Left cheek blend (px)",
                                          widget=RangeInput(attrs={"step": 1}), help_text="blend: narrow ↔ wide")
    right_cheek_width = forms.IntegerField(required=False, label="Right cheek blend (px)",
                                           widget=RangeInput(attrs={"step": 1}), help_text="blend: narrow ↔ wide")

    title = forms.CharField(required=False, max_length=200, label="Title (optional)")
    reuse_from = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, team, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.user_id = getattr(user, "pk", None)
        if self.is_bound and any(name not in self.data for name in Job.ADVANCED_DEFAULTS):
            # Absent sliders (a client that did not send them) mean "the default".
            self.data = self.data.copy()
            for name, default in Job.ADVANCED_DEFAULTS.items():
                self.data.setdefault(name, str(default))
        self.chosen: dict[str, str | None] = {}
        for name in RANGES:
            field = self.fields[name]
            field.initial = Job.ADVANCED_DEFAULTS[name]
            field.error_messages["invalid"] = "Enter a whole number."
        self.fields["parsing_mode"].initial = Job.ADVANCED_DEFAULTS["parsing_mode"]
        self.reuse_job = self._reuse_job()

    # --- duplicate and edit: files uploaded for another job of the same team -----------

    def _reuse_job(self):
        code = (self.data.get("reuse_from") if self.is_bound else self.initial.get("reuse_from")) or ""
        try:
            code = uuid.UUID(str(code))
        except ValueError:
            return None
        return Job.objects.filter(team=self.team, code=code).first()

    def reusable_file(self, source: str) -> str:
        """Storage name of the source job's file usable for option `source`, or ''."""
        job = self.reuse_job
        if job is None:
            return ""
        if source == "audio_file":
            return job.audio_file.name if job.audio_type == A.FILE and job.audio_file else ""
        if source in ("video_file", "image_file") and job.visual_file and job.visual_type == VISUAL_TYPE[source]:
            return job.visual_file.name
        return ""

    def kept_file(self, option: str) -> str:
        """Storage name of this person's upload kept from a rejected form, or ''."""
        token = (self.data.get(f"kept_{option}") if self.is_bound else "") or ""
        return kept_upload(token, self.user_id, option) if token and self.user_id is not None else ""

    # --- which option is chosen -----------------------------------------------------------

    def _has_input(self, option: str) -> bool:
        if option in FILE_KIND:
            return bool(self.files.get(option)) or bool(self.kept_file(option))
        return bool((self.data.get(option) or "").strip())

    def _pick(self, name: str) -> str | None:
        """The chosen option of radio `name`; with no radio, the one option filled in."""
        cleaned = self.cleaned_data
        options = SOURCE_INPUTS[name]
        values = [v for v in (self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)])
                  if v]
        word = SOURCE_WORDS[name]
        if len(values) > 1:
            self.add_error(name, f"Choose only one {word}.")
            return None
        if values:
            # The one non-empty value, even when the radio was sent again empty
            # (audio_source=content&audio_source=): Django's field only saw the last one.
            if name in self._errors:
                return None  # an invalid value already has its error
            if values[0] not in options:
                self.add_error(name, f"Choose a {word} from the list.")
                return None
            cleaned[name] = values[0]
            return values[0]
        filled = [option for option in options if self._has_input(option)]
        labels = dict(VISUAL_SOURCES + AUDIO_SOURCES)
        if not filled:
            self.add_error(name, f"Choose a {word}: " + ", ".join(labels[o].lower() for o in options) + ".")
            return None
        if len(filled) > 1:
            self.add_error(name, f"Choose only one {word}: you filled in "
                           + " and ".join(labels[o].lower() for o in filled) + ".")
            return None
        cleaned[name] = filled[0]
        return filled[0]

    # --- validation -----------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        visual = self.chosen["visual_source"] = self._pick("visual_source")
        audio = self.chosen["audio_source"] = self._pick("audio_source")
        # Inputs of options not chosen are ignored, errors included.
        counted = {i for name, src in (("visual_source", visual), ("audio_source", audio)) if src
                   for i in SOURCE_INPUTS[name][src]}
        for options in SOURCE_INPUTS.values():
            for inputs in options.values():
                for field in inputs:
                    if field not in counted and field in self._errors:
                        del self._errors[field]
        self.extensions, self.reused = {}, {}
        if visual:
            self._clean_option(visual)
        if audio:
            self._clean_option(audio)
        self.params = self._clean_params()
        return cleaned

    def _clean_option(self, option: str) -> None:
        if option in self._errors:
            return
        cleaned = self.cleaned_data
        if option in FILE_KIND:
            upload = cleaned.get(option)
            if upload:
                try:
                    self.extensions[option] = check_upload(upload, FILE_KIND[option])
                except ValidationError as exc:
                    self.add_error(option, exc)
            elif kept := self.kept_file(option):
                self.reused[option] = kept
            elif self.reusable_file(option):
                self.reused[option] = self.reusable_file(option)
            else:
                what = {"video_file": "a video", "image_file": "a photo", "audio_file": "an audio file"}[option]
                self.add_error(option, f"Choose {what} to upload.")
        elif option.endswith("_url"):
            url = (cleaned.get(option) or "").strip()
            if not url:
                what = {"video_url": "video", "image_url": "photo", "audio_url": "audio file"}[option]
                self.add_error(option, f"Enter the link to the {what}.")
                return
            try:
                http_url(url)
            except ValidationError as exc:
                self.add_error(option, exc)
                return
            # The link's host, resolved, must be public (the fetchers check again at connect time).
            problem = link_problem(url, parse_origins(settings.ENGINE_FETCH_ALLOWED_PRIVATE))
            if problem:
                self.add_error(option, problem)
                return
            cleaned[option] = url
        elif option == "character":
            name = cleaned.get("character") or ""
            if not name:
                self.add_error("character", "Choose a character.")
            elif not (character := Character.objects.filter(is_active=True, name=name).first()):
                self.add_error("character", "That character is not available; choose another.")
            else:
                self.character_obj = character
        elif option == "content":
            text = cleaned.get("content") or ""
            if not text:
                self.add_error("content", "Type the text to speak.")
            elif len(text) > settings.TEXT_MAX_CHARS:
                over = len(text) - settings.TEXT_MAX_CHARS
                self.add_error("content", f"The text has {len(text):,} characters, {over:,} over the limit of "
                                          f"{settings.TEXT_MAX_CHARS:,}. Shorten it, or split it into several "
                                          "videos. Nothing was cut: your text is still here.")
            voice = cleaned.get("voice") or ""
            if not voice:
                self.add_error("voice", "Choose a voice for the text.")
            elif voice not in Job.VOICES:
                self.add_error("voice", "Choose one of the listed voices.")

    def _clean_params(self) -> dict:
        params = {}
        for name, (low, high) in RANGES.items():
            value = self.cleaned_data.get(name)
            if value is None:
                continue
            if not low <= value <= high:
                self.add_error(name, f"Choose a value from {low} to {high}.")
            elif value != Job.ADVANCED_DEFAULTS[name]:
                params[name] = value
        mode = self.cleaned_data.get("parsing_mode")
        if mode and mode != Job.ADVANCED_DEFAULTS["parsing_mode"]:
            params["parsing_mode"] = mode
        return params

    # --- output -----------------------------------------------------------------------------

    def default_title(self) -> str:
        visual, audio = self.chosen["visual_source"], self.chosen["audio_source"]
        if audio == "content":
            words = self.cleaned_data["content"].split()
            title = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
            return title[:80]
        for option in (visual, audio):
            upload = self.cleaned_data.get(option) if option in FILE_KIND else None
            if upload:
                return PurePosixPath(upload.name).stem[:80] or "Uploaded file"
        if visual == "character":
            return str(self.character_obj)
        for option in (visual, audio):
            if option and option.endswith("_url") and (name := _url_name(self.cleaned_data[option])):
                return name[:80]
        return "Untitled video"

    def job_inputs(self) -> dict:
        """Keyword arguments for services.job_create (after is_valid())."""
        data = self.cleaned_data
        visual, audio = self.chosen["visual_source"], self.chosen["audio_source"]
        title = data.get("title") or self.default_title()
        inputs = dict(title=title, visual_type=VISUAL_TYPE[visual], visual_url="", visual_file="", character_name="",
                      audio_type=AUDIO_TYPE[audio], audio_url="", audio_file="", content="", voice="",
                      params=self.params)
        if visual in ("video_file", "image_file"):
            inputs["visual_file"] = self._stored(visual)
        elif visual == "character":
            inputs["character_name"] = self.character_obj.name
        else:
            inputs["visual_url"] = data[visual]
        if audio == "audio_file":
            upload = data.get("audio_file")  # its length decides approval (jobs.approvals) and the quota estimate
            inputs["audio_seconds"] = audio_length(upload) if upload else audio_length(stored_name=self.reused[audio])
            inputs["audio_file"] = self._stored(audio)
        elif audio == "audio_url":
            inputs["audio_url"] = data["audio_url"]
        else:
            inputs["content"], inputs["voice"] = data["content"], data["voice"]
        return inputs

    def _stored(self, option: str):
        upload = self.cleaned_data.get(option)
        if not upload:
            return self.reused[option]  # same storage name as the source job's file
        upload.name = f"upload.{self.extensions[option]}"  # upload_to takes the sniffed extension
        return upload


def initial_from_job(job: Job) -> dict:
    """The create form's initial values for Duplicate and edit."""
    initial = {"title": f"{job.title} (copy)"[:200], "reuse_from": str(job.code)}
    if job.visual_type == V.CHARACTER:
        initial.update(visual_source="character", character=job.character_name)
    else:
        kind = "video" if job.visual_type == V.VIDEO else "image"
        if job.visual_url:
            initial.update({"visual_source": f"{kind}_url", f"{kind}_url": job.visual_url})
        else:
            initial["visual_source"] = f"{kind}_file"
    if job.audio_type == A.URL:
        initial.update(audio_source="audio_url", audio_url=job.audio_url)
    elif job.audio_type == A.FILE:
        initial["audio_source"] = "audio_file"
    else:
        initial.update(audio_source="content", content=job.content, voice=job.voice)
    for name, default in Job.ADVANCED_DEFAULTS.items():
        initial[name] = (job.params or {}).get(name, default)
    return initial


