from django.urls import path

from . import views

app_name = "engine"
urlpatterns = [
    path("generate", views.generate, name="generate"),
    path("query_status", views.query_status, name="query_status"),
    path("media/<uuid:task_id>.mp4", views.media, name="media"),
    path("stats", views.stats, name="stats"),
]
