"""The create form: one face (visual source), one voice (audio source), optional sliders.

Every rule lives in front.job_inputs (shared with the REST API); this class adds only
what a page needs: widget attributes, the selected option, notices about files to
choose again, ARIA links from fields to their errors, and the summary line.
"""

from django import forms
from django.conf import settings
from django.core.files.storage import default_storage

from jobs.models import Job, method_label, upload_to

from .job_inputs import (
    AUDIO_SOURCES,
    AUDIO_TYPE,
    FILE_KIND,
    RANGES,
    VISUAL_SOURCES,
    VISUAL_TYPE,
    JobInputsForm,
    initial_from_job,
    kept_token,
)

__all__ = ["AUDIO_SOURCES", "AUDIO_TYPE", "VISUAL_SOURCES", "VISUAL_TYPE", "CreateJobForm", "HistoryFilterForm",
           "initial_from_job"]

CHOOSE_AGAIN = "browsers cannot keep a chosen file when the page reloads, so choose the file again."
KEPT = "is kept: you do not need to choose it again. Choose a file only to use a different one."


class CreateJobForm(JobInputsForm):
    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, team=team, **kwargs)
        self.file_notices: dict[str, str] = {}
        self.kept_tokens: dict[str, str] = {}
        for name, (low, high) in RANGES.items():
            self.fields[name].widget.attrs.update({"min": low, "max": high,
                                                   "data-default": Job.ADVANCED_DEFAULTS[name]})
        # No maxlength: a browser cuts a longer paste silently. The counter warns, and
        # clean() says by how much the text is over.
        self.text_max_chars = settings.TEXT_MAX_CHARS
        self.fields["content"].widget.attrs["data-max-chars"] = self.text_max_chars

    def _keep(self, option: str, upload) -> None:
        """A file that passed validation on a form rejected for another reason is stored
        now (as it would be for the job) and offered back through a signed token, so the
        person never has to choose it twice (browsers cannot refill a file input)."""
        if self.user_id is None:
            self.file_notices[option] = f"“{upload.name}” looked fine, but {CHOOSE_AGAIN}"
            return
        upload.seek(0)
        name = default_storage.save(upload_to(None, f"upload.{self.extensions[option]}"), upload)
        self.kept_tokens[option] = kept_token(name, self.user_id, option)
        self.file_notices[option] = f"“{upload.name}” {KEPT}"

    def current_source(self, name: str) -> str:
        """The option to show selected (bound data first, then initial)."""
        if self.is_bound:
            return self.chosen.get(name) or self.data.get(name) or ""
        return self.initial.get(name) or ""

    def full_clean(self):
        super().full_clean()
        if not self.is_bound or not self._errors:
            return
        for option in FILE_KIND:
            upload = self.files.get(option)
            chosen = option in self.chosen.values()
            if upload and option not in self._errors and chosen:
                self._keep(option, upload)
            elif option in self._errors and upload:
                self.file_notices[option] = CHOOSE_AGAIN[0].upper() + CHOOSE_AGAIN[1:]
            elif chosen and option in self.reused and self.kept_file(option):
                # Kept from an earlier rejected try: keep offering it.
                self.kept_tokens[option] = self.data.get(f"kept_{option}")
                self.file_notices[option] = f"The file you chose before {KEPT}"
        for name in self._errors:
            if name in self.fields:
                field = self.fields[name]
                described = [f"error-{name}"] + ([f"{self[name].auto_id}_helptext"] if field.help_text else [])
                field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": " ".join(described)})

    @property
    def advanced_open(self) -> bool:
        """Open the Advanced section when it holds an error or a value moved from its default."""
        if self.is_bound and any(name in self.errors for name in Job.ADVANCED_DEFAULTS):
            return True
        values = {name: self[name].value() for name in Job.ADVANCED_DEFAULTS}
        return any(str(values[name]) != str(default) for name, default in Job.ADVANCED_DEFAULTS.items()
                   if values[name] not in (None, ""))

    @property
    def reusable(self) -> dict:
        """Option -> storage name of a file the source job lets this form reuse."""
        return {option: name for option in FILE_KIND if (name := self.reusable_file(option))}

    def summary(self) -> str:
        visual, audio = self.current_source("visual_source"), self.current_source("audio_source")
        if visual in VISUAL_TYPE and audio in AUDIO_TYPE:
            return method_label(VISUAL_TYPE[visual], AUDIO_TYPE[audio])
        return "Choose a face and a voice."


class HistoryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.SearchInput(attrs={"placeholder": "Title or text"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status")] + list(Job.Status.choices))
    method = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Method",
                                    choices=[("", "Any method")])
    creator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Created by",
                                     choices=[("", "Anyone")])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, methods: dict, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "Any method")] + list(methods.items())
        self.fields["creator"].choices = [("", "Anyone")] + [(u.pk, u.get_username()) for u in members]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", f"“To” ({end:%b %-d, %Y}) is before “From” ({start:%b %-d, %Y}): "
                                      "nothing can match. Swap the dates or clear one.")
            cleaned.pop("date_to", None)
        return cleaned

    def filters(self) -> dict:
        """The valid filters (an invalid one is ignored, and shown with its error)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
