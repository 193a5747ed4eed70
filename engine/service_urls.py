"""The URLconf of the engine running on its own (ENGINE_ONLY=1): the same paths as
when it is mounted inside the portal, so ENGINE_BASE_URL ends in /engine either way."""

from django.http import JsonResponse
from django.urls import include, path


def healthz(request):
    return JsonResponse({"status": "ok", "service": "engine"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("engine/", include("engine.urls")),
]
