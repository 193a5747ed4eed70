"""Every API error has one shape: `{"errors": {"<field>": ["message", …]}}`, keyed by the
field the message concerns (the create form's fields and messages), or by
`non_field_errors` for the request as a whole (authentication, limits, not found)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

NON_FIELD = "non_field_errors"


def error_body(errors: dict) -> dict:
    return {"errors": {(NON_FIELD if key == "__all__" else key): [str(m) for m in messages]
                       for key, messages in errors.items()}}


def errors_response(errors: dict, status_code: int = status.HTTP_400_BAD_REQUEST, **kwargs) -> Response:
    return Response(error_body(errors), status=status_code, **kwargs)


def message_response(message: str, status_code: int, field: str = NON_FIELD) -> Response:
    return errors_response({field: [message]}, status_code)


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {key: (value if isinstance(value, list) else [value]) for key, value in detail.items()}
    return {NON_FIELD: detail if isinstance(detail, list) else [detail]}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        words = str(exc)
        exc = exceptions.NotFound("Not found in your team." if not words or "matches the given query" in words
                                  else words)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        detail = [f"Too many calls with this token; try again in {exc.wait or 1:.0f} s."]
        response.data = error_body({NON_FIELD: detail})
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(_flatten(exc.detail))
    return response
