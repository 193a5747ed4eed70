"""The browsable API documentation: Swagger UI over /api/schema/, from files served by
this portal (drf-spectacular-sidecar's Swagger UI build, no CDN) and started by a static
script (the strict CSP allows no inline script)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def docs(request):
    return render(request, "api/docs.html")
