from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views, views_approvals, views_batches, views_docs, views_tokens, views_webhook

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[],
                                               throttle_classes=[]), name="schema"),
    path("docs/", views_docs.docs, name="docs"),
    path("tokens/", views_tokens.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views_tokens.revoke, name="token_revoke"),
    path("v1/jobs/", views.JobsView.as_view(), name="jobs"),
    path("v1/jobs/<str:code>/", views.JobView.as_view(), name="job"),
    path("v1/jobs/<str:code>/cancel/", views.CancelView.as_view(), name="job-cancel"),
    path("v1/jobs/<str:code>/retry/", views.RetryView.as_view(), name="job-retry"),
    path("v1/jobs/<str:code>/approve/", views_approvals.ApproveView.as_view(), name="job-approve"),
    path("v1/jobs/<str:code>/reject/", views_approvals.RejectView.as_view(), name="job-reject"),
    path("v1/jobs/<str:code>/duplicate/", views.DuplicateView.as_view(), name="job-duplicate"),
    path("v1/jobs/<str:code>/video/", views.VideoView.as_view(), name="job-video"),
    path("v1/jobs/<str:code>/poster/", views.PosterView.as_view(), name="job-poster"),
    path("v1/jobs/<str:code>/webhook/", views_webhook.JobWebhookView.as_view(), name="job-webhook"),
    path("v1/characters/", views.CharactersView.as_view(), name="characters"),
    path("v1/voices/", views.VoicesView.as_view(), name="voices"),
    path("v1/voices/<str:name>/sample/", views.VoiceSampleView.as_view(), name="voice-sample"),
    path("v1/presets/", views.PresetsView.as_view(), name="presets"),
    path("v1/usage/", views.UsageView.as_view(), name="usage"),
    path("v1/batches/", views_batches.BatchesView.as_view(), name="batches"),
    path("v1/batches/<str:pk>/", views_batches.BatchView.as_view(), name="batch"),
    path("v1/batches/<str:pk>/preview/", views_batches.PreviewView.as_view(), name="batch-preview"),
    path("v1/batches/<str:pk>/submit/", views_batches.SubmitView.as_view(), name="batch-submit"),
    path("v1/batches/<str:pk>/retry/", views_batches.RetryView.as_view(), name="batch-retry"),
    path("v1/batches/<str:pk>/results.zip", views_batches.ResultsView.as_view(), name="batch-results"),
]
