"""The team page: its members and their roles, and invitation links (owners and admins).

Changes go through `accounts.members` (which keeps a team's last owner); joining by a
link is open to any logged-in person holding a valid link.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import audit, members
from accounts import permissions as perms
from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Team
from accounts.permissions import permission_required
from jobs import quotas
from jobs.models import Job
from keys import selection

NEW_LINK_KEY = "team:new-invitation-link"


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.CREATOR,
                             help_text="Viewers watch and download; creators also make videos; admins and owners "
                                       "also manage members, keys and quotas.")
    days = forms.TypedChoiceField(label="The link works for", coerce=int, initial=7,
                                  choices=[(d, f"{d} day" + ("" if d == 1 else "s")) for d in members.INVITATION_DAYS])
    email = forms.EmailField(label="Email it to (optional)", required=False,
                             help_text="Leave empty to copy the link yourself.")


QUOTA_FIELDS = {"jobs_per_day": "max_jobs_per_day", "member_jobs_per_day": "max_jobs_per_day",
                "video_seconds_per_month": "max_video_seconds_per_month",
                "member_video_seconds_per_month": "max_video_seconds_per_month"}


class QuotaForm(forms.ModelForm):
    """The team's caps, set by its owners and admins, never above the staff's ceilings."""

    class Meta:
        model = Team
        fields = list(QUOTA_FIELDS)
        labels = {"jobs_per_day": "Videos per day, whole team", "member_jobs_per_day": "Videos per day, each person",
                  "video_seconds_per_month": "Seconds of video per month, whole team",
                  "member_video_seconds_per_month": "Seconds of video per month, each person"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, ceiling_name in QUOTA_FIELDS.items():
            ceiling = getattr(self.instance, ceiling_name)
            self.fields[name].help_text = ("Empty: no limit." if ceiling is None else
                                           f"At most {ceiling} (set by the portal's staff). Empty: {ceiling}.")

    def clean(self):
        data = super().clean()
        for name, ceiling_name in QUOTA_FIELDS.items():
            ceiling, value = getattr(self.instance, ceiling_name), data.get(name)
            if ceiling is not None and value is not None and value > ceiling:
                self.add_error(name, f"This is more than the {ceiling} the portal's staff allow this team. "
                                     f"Enter {ceiling} or less.")
        return data


class MemberSettingsForm(forms.ModelForm):
    """One person's own caps (replacing the team's per-person default; never above the
    staff's ceilings) and whether their every video waits for approval."""

    class Meta:
        model = Membership
        fields = ["jobs_per_day", "video_seconds_per_month", "requires_approval"]
        labels = {"jobs_per_day": "Videos per day", "video_seconds_per_month": "Seconds of video per month",
                  "requires_approval": "Their videos wait for approval"}
        widgets = {"jobs_per_day": forms.NumberInput(attrs={"min": 0, "class": "input-number"}),
                   "video_seconds_per_month": forms.NumberInput(attrs={"min": 0, "class": "input-number"})}

    def __init__(self, *args, team, **kwargs):
        kwargs.setdefault("prefix", f"m{kwargs['instance'].pk}")
        super().__init__(*args, **kwargs)
        self.team = team

    def clean(self):
        data = super().clean()
        for name, ceiling_name in (("jobs_per_day", "max_jobs_per_day"),
                                   ("video_seconds_per_month", "max_video_seconds_per_month")):
            ceiling, value = getattr(self.team, ceiling_name), data.get(name)
            if ceiling is not None and value is not None and value > ceiling:
                self.add_error(name, f"This is more than the {ceiling} the portal's staff allow this team. "
                                     f"Enter {ceiling} or less.")
        return data


def _page(request, invite_form, status=200, quota_form=None, member_form=None):
    team_members = list(Membership.objects.filter(team=request.team).select_related("user")
                        .order_by("user__username"))
    for member in team_members:
        member.settings_form = (member_form if member_form is not None and member_form.instance.pk == member.pk
                                else MemberSettingsForm(instance=member, team=request.team))
    today, seconds = quotas.usage(Job.objects.filter(team=request.team), timezone.now())
    context = {"members": team_members, "invitations": members.pending_invitations(request.team),
               "invite_form": invite_form, "roles": Membership.Role.choices,
               "quota_form": quota_form or QuotaForm(instance=request.team), "used_today": today,
               "used_seconds": round(seconds), "caps": quotas.team_caps(request.team),
               "key_states": selection.key_states(request.team, spent=quotas.key_month_seconds),
               "new_link": request.session.pop(NEW_LINK_KEY, None) if request.method == "GET" else None}
    return render(request, "team/members.html", context, status=status)


@permission_required(perms.MANAGE_MEMBERS)
def members_page(request):
    return _page(request, InviteForm())


@require_POST
@permission_required(perms.MANAGE_MEMBERS)
def change_role(request, membership_id):
    try:
        target = members.change_role(request.membership, membership_id, request.POST.get("role", ""))
    except members.MemberChangeRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{target.user.get_username()} is now {target.get_role_display().lower()}.")
    return redirect("jobs:members")


@require_POST
@permission_required(perms.MANAGE_MEMBERS)
def remove(request, membership_id):
    try:
        target = members.remove_member(request.membership, membership_id)
    except members.MemberChangeRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{target.user.get_username()} was removed from {request.team.name}.")
        if target.user_id == request.user.pk:
            request.session.pop(SESSION_KEY, None)
            return redirect("jobs:gallery")
    return redirect("jobs:members")


@require_POST
@permission_required(perms.MANAGE_MEMBERS)
def invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        _invitation, token = members.create_invitation(request.membership, **form.cleaned_data)
    except members.MemberChangeRefused as exc:
        form.add_error("role", exc.message)
        return _page(request, form, status=400)
    link = request.build_absolute_uri(reverse("jobs:join", args=[token]))
    email = form.cleaned_data["email"]
    if email:
        try:
            send_mail(f"You are invited to {request.team.name} on NavTalk Portal",
                      f"{request.user.get_username()} invites you to the team {request.team.name}.\n\n"
                      f"Open this link (log in first if asked) to join:\n{link}\n\n"
                      f"It works once, for {form.cleaned_data['days']} day(s).",
                      settings.DEFAULT_FROM_EMAIL, [email])
            messages.success(request, f"Invitation sent to {email}.")
        except OSError:
            messages.warning(request, f"The email to {email} could not be sent; copy the link below instead.")
    request.session[NEW_LINK_KEY] = link  # shown once, on the next page
    return redirect("jobs:members")


@require_POST
@permission_required(perms.MANAGE_QUOTAS)
def set_quotas(request):
    form = QuotaForm(request.POST, instance=Team.objects.get(pk=request.team.pk))
    if not form.is_valid():
        return _page(request, InviteForm(), status=400, quota_form=form)
    form.save()
    if form.changed_data:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        audit.record("quota_changed", actor=request.user, team=request.team, target=", ".join(changes), **changes)
    messages.success(request, "Quotas saved. They apply to the next video anyone makes.")
    return redirect("jobs:members")


@require_POST
@permission_required(perms.MANAGE_QUOTAS)
def member_settings(request, membership_id):
    """A person's own caps and approval flag (audited: quota_changed, approval_settings_changed)."""
    team = Team.objects.get(pk=request.team.pk)
    member = Membership.objects.select_related("user").filter(team=team, pk=membership_id).first()
    if member is None:
        messages.error(request, "That person is no longer a member of this team.")
        return redirect("jobs:members")
    form = MemberSettingsForm(request.POST, instance=member, team=team)
    if not form.is_valid():
        return _page(request, InviteForm(), status=400, member_form=form)
    form.save()
    name = member.user.get_username()
    caps = {n: form.cleaned_data[n] for n in form.changed_data if n != "requires_approval"}
    if caps:
        audit.record("quota_changed", actor=request.user, team=team, target=name, **caps)
    if "requires_approval" in form.changed_data:
        audit.record("approval_settings_changed", actor=request.user, team=team, target=name,
                     requires_approval=form.cleaned_data["requires_approval"])
    messages.success(request, f"Saved for {name}. It applies to their next video.")
    return redirect("jobs:members")


@require_POST
@permission_required(perms.MANAGE_MEMBERS)
def revoke(request, invitation_id):
    if members.revoke_invitation(request.membership, invitation_id):
        messages.success(request, "Invitation withdrawn; its link no longer works.")
    else:
        messages.warning(request, "That invitation was already used or withdrawn.")
    return redirect("jobs:members")


@login_required
def join(request, token):
    """Open an invitation link: see which team and role, then join with one button."""
    try:
        invitation = members.invitation_for(token)
    except members.MemberChangeRefused as exc:
        return render(request, "team/join.html", {"problem": exc.message}, status=410)
    if request.method == "POST":
        try:
            membership = members.accept_invitation(token, request.user)
        except members.MemberChangeRefused as exc:
            return render(request, "team/join.html", {"problem": exc.message}, status=409)
        request.session[SESSION_KEY] = membership.team_id
        messages.success(request, f"Welcome to {invitation.team.name}. You joined as "
                                  f"{membership.get_role_display().lower()}.")
        return redirect("jobs:create")
    return render(request, "team/join.html", {"invitation": invitation})
