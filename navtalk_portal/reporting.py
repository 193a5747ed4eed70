"""Error reports that never show a license or another secret.

Django's DEBUG page and its admin error emails list settings, the request's GET, POST
and META, and every frame's local variables. `SecretsFilter` hides any setting, META
entry, parameter or variable whose name mentions LICENSE, SECRET, KEY, TOKEN, PASS, AUTH,
API or SIGNATURE (so ENGINE_LICENSES, LICENSE_ENCRYPTION_KEYS and a `license` query
parameter are all hidden) and, as a last line of defence, `SecretsReporter` masks the
known secrets' values (in any case or common encoding, navtalk.scrub) wherever they still
appear in the rendered report: a raw body, a URL, a string inside a frame's variable.
"""

import re

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from navtalk.scrub import Scrubber

SENSITIVE = re.compile("LICENSE|SECRET|KEY|TOKEN|PASS|AUTH|API|SIGNATURE|HTTP_COOKIE", re.IGNORECASE)
MASK = SafeExceptionReporterFilter.cleansed_substitute


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = SENSITIVE

    def is_active(self, request):
        return True  # also with DEBUG=True: a DEBUG page is exactly where a license would show

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is None:
            return params
        params = params.copy()
        for name in params:
            if SENSITIVE.search(name):
                params[name] = MASK
        return params

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        if "QUERY_STRING" in meta:
            meta["QUERY_STRING"] = _mask_query(meta["QUERY_STRING"])
        return meta

    def get_traceback_frame_variables(self, request, tb_frame):
        # cleanse_setting masks a sensitive name, and sensitive keys inside dicts and lists.
        return [(name, self.cleanse_setting(name, value) if isinstance(name, str) else value)
                for name, value in super().get_traceback_frame_variables(request, tb_frame)]


def _mask_query(query: str) -> str:
    return re.sub(r"(^|&)([^=&]*)=([^&]*)",
                  lambda m: f"{m[1]}{m[2]}={MASK}" if SENSITIVE.search(m[2]) else m[0], query)


def known_secrets(request=None) -> list[str]:
    values = [*getattr(settings, "ENGINE_LICENSES", []), *getattr(settings, "LICENSE_ENCRYPTION_KEYS", []),
              settings.SECRET_KEY]
    if request is not None:
        for params in (request.GET, getattr(request, "_post", None)):
            if params is None:
                continue
            values += [v for name, items in params.lists() if SENSITIVE.search(name) for v in items]
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 8}, key=len, reverse=True)


class SecretsReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None and "request_GET_items" in data:
            data["request_GET_items"] = [(k, MASK if SENSITIVE.search(k) else v) for k, v in self.request.GET.items()]
        return data

    def _scrub(self, text: str) -> str:
        for secret in known_secrets(self.request):
            text = Scrubber(secret, hint=MASK).text(text)
        return text

    def get_traceback_html(self):
        return self._scrub(super().get_traceback_html())

    def get_traceback_text(self):
        return self._scrub(super().get_traceback_text())
