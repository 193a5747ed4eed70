from django import forms
from django.contrib import admin, messages

from .models import EngineCallCounter, EngineLicense, EngineTask


class EngineLicenseForm(forms.ModelForm):
    license = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to generate one (shown once after saving); "
                  "when editing, leave empty to keep the current license.")

    class Meta:
        model = EngineLicense
        fields = ("name", "license", "faults", "active")


@admin.register(EngineLicense)
class EngineLicenseAdmin(admin.ModelAdmin):
    form = EngineLicenseForm
    list_display = ("name", "hint", "faults", "active", "created")
    list_filter = ("active",)
    search_fields = ("name", "hint")
    readonly_fields = ("hint", "created")

    def save_model(self, request, obj, form, change):
        license = form.cleaned_data.get("license")
        if not license and not change:
            import secrets

            license = "sk-engine-" + secrets.token_hex(16)
            messages.warning(request, f"New engine license (shown only now): {license}")
        if license:
            obj.set_secret(license)
        super().save_model(request, obj, form, change)


@admin.register(EngineTask)
class EngineTaskAdmin(admin.ModelAdmin):
    list_display = ("task_id", "status", "instant", "created", "finished", "short_message")
    list_filter = ("status", "instant", "inject_failure", "never_finish")
    search_fields = ("task_id",)
    date_hierarchy = "created"
    readonly_fields = [f.name for f in EngineTask._meta.fields]

    @admin.display(description="message")
    def short_message(self, obj):
        return obj.message[:80]

    def has_add_permission(self, request):
        return False


@admin.register(EngineCallCounter)
class EngineCallCounterAdmin(admin.ModelAdmin):
    list_display = ("fingerprint", "generate_calls", "status_calls")
    readonly_fields = ("fingerprint", "generate_calls", "status_calls")

    def has_add_permission(self, request):
        return False
