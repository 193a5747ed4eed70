from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and people"

    def ready(self):
        from django.contrib.admin.models import LogEntry
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_save

        from . import audit

        user_logged_in.connect(audit.on_login, dispatch_uid="audit-login")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="audit-login-failed")
        post_save.connect(audit.on_admin_log, sender=LogEntry, dispatch_uid="audit-admin-log")
