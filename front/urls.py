from django.urls import path

from jobs import media

from . import (
    presets,
    views,
    views_audit,
    views_live,
    views_members,
    views_notifications,
    views_results,
    views_webhooks,
    voices,
)

app_name = "jobs"
urlpatterns = [
    path("", views.create, name="create"),
    path("jobs/<uuid:code>/", views.detail, name="detail"),
    path("jobs/<uuid:code>/status/", views.status, name="status"),
    path("jobs/<uuid:code>/retry/", views.retry, name="retry"),
    path("jobs/<uuid:code>/cancel/", views.cancel, name="cancel"),
    path("jobs/<uuid:code>/duplicate/", views.duplicate, name="duplicate"),
    path("jobs/<uuid:code>/video.mp4", views_results.video, name="video"),
    path("jobs/<uuid:code>/poster.jpg", views_results.poster, name="poster"),
    path("jobs/<uuid:code>/archive/", views_results.archive_again, name="archive_again"),
    path("jobs/live/", views_live.live, name="live"),
    path("history/", views.history, name="history"),
    path("presets/", presets.presets_page, name="presets"),
    path("presets/save/", presets.save_from_form, name="preset_from_form"),
    path("presets/<int:pk>/delete/", presets.delete, name="preset_delete"),
    path("webhooks/", views_webhooks.webhooks_page, name="webhooks"),
    path("webhooks/<int:pk>/<str:what>/", views_webhooks.action, name="webhook_action"),
    path("jobs/<uuid:code>/preset/", presets.save_from_job, name="preset_from_job"),
    path("gallery/", views.gallery, name="gallery"),
    path("notifications/", views_notifications.notifications_page, name="notifications"),
    path("voices/<str:name>.wav", voices.voice_sample, name="voice_sample"),
    path("team/switch/", views.switch_team, name="switch_team"),
    path("team/members/", views_members.members_page, name="members"),
    path("team/members/<int:membership_id>/role/", views_members.change_role, name="member_role"),
    path("team/members/<int:membership_id>/remove/", views_members.remove, name="member_remove"),
    path("team/invitations/", views_members.invite, name="invite"),
    path("team/quotas/", views_members.set_quotas, name="quotas"),
    path("team/audit/", views_audit.audit_page, name="audit"),
    path("team/invitations/<int:invitation_id>/withdraw/", views_members.revoke, name="invite_revoke"),
    path("join/<str:token>/", views_members.join, name="join"),
    path("m/<str:token>/", media.public_media, name="public_media"),
]
