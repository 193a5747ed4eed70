from django.apps import AppConfig


class ClusterConfig(AppConfig):
    name = "cluster"
    verbose_name = "Cluster coordination"
    default_auto_field = "django.db.models.BigAutoField"
