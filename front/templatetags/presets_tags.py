"""{% team_presets team as presets %}: the team's presets, for the create page's picker."""

from django import template

from automation.models import Preset

register = template.Library()


@register.simple_tag
def team_presets(team):
    return list(Preset.objects.filter(team=team).only("pk", "name", "description")) if team else []
