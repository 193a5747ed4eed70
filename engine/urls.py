from django.urls import path

from . import catalog_views, views

app_name = "engine"
urlpatterns = [
    path("generate", views.generate, name="generate"),
    path("query_status", views.query_status, name="query_status"),
    path("media/<str:token>.mp4", views.media, name="media"),
    path("stats", views.stats, name="stats"),
    path("characters", catalog_views.characters, name="characters"),
    path("characters/<str:name>.jpg", catalog_views.character_image, name="character_image"),
    path("voices/<str:voice>.wav", catalog_views.voice_sample, name="voice_sample"),
]
