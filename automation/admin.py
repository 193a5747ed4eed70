from django.contrib import admin

from .models import Preset


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "visual_type", "voice", "created_by", "created_at")
    list_filter = ("team",)
    search_fields = ("name", "description")
