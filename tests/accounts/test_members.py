"""The team page: members with roles, role changes, removal, invitation links with
expiry, and a team that always keeps an owner. The first admin owns the first team."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import members
from accounts.models import Invitation, Membership

R = Membership.Role


@pytest.fixture
def carol(alice, django_user_model):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol, role=R.CREATOR)
    return carol


@pytest.fixture
def owner(client, alice):
    Membership.objects.filter(user=alice).update(role=R.OWNER)
    client.force_login(alice)
    return client


def membership(user):
    return Membership.objects.get(user=user)


def invite_link(client, **data) -> str:
    response = client.post(reverse("jobs:invite"), {"role": "viewer", "days": "7", **data})
    assert response.status_code == 302
    page = client.get(reverse("jobs:members")).content.decode()
    return re.search(r'id="new-link" type="text" readonly value="([^"]+)"', page).group(1)


@pytest.mark.django_db
def test_the_page_lists_members_with_their_roles(owner, alice, carol):
    page = owner.get(reverse("jobs:members")).content.decode()
    assert 'data-member="alice"' in page and 'data-member="carol"' in page
    row = page.split('data-member="carol"')[1].split("</tr>")[0]
    assert '<option value="creator" selected>' in row


@pytest.mark.django_db
def test_an_admin_changes_a_role_and_removes_a_member(owner, carol):
    owner.post(reverse("jobs:member_role", args=[membership(carol).pk]), {"role": "viewer"})
    assert membership(carol).role == R.VIEWER
    owner.post(reverse("jobs:member_remove", args=[membership(carol).pk]))
    assert not Membership.objects.filter(user=carol).exists()


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(owner, alice, carol):
    me = membership(alice)
    response = owner.post(reverse("jobs:member_role", args=[me.pk]), {"role": "admin"}, follow=True)
    assert "the team&#x27;s only owner" in response.content.decode()
    owner.post(reverse("jobs:member_remove", args=[me.pk]))
    assert membership(alice).role == R.OWNER
    # With a second owner, the first may step down.
    owner.post(reverse("jobs:member_role", args=[membership(carol).pk]), {"role": "owner"})
    owner.post(reverse("jobs:member_role", args=[me.pk]), {"role": "admin"})
    assert (membership(alice).role, membership(carol).role) == (R.ADMIN, R.OWNER)


@pytest.mark.django_db
def test_an_admin_cannot_touch_owners_or_make_one(client, alice, carol):
    Membership.objects.filter(user=alice).update(role=R.ADMIN)
    Membership.objects.filter(user=carol).update(role=R.OWNER)
    with pytest.raises(members.MemberChangeRefused, match="Only an owner"):
        members.remove_member(membership(alice), membership(carol).pk)
    with pytest.raises(members.MemberChangeRefused, match="Only an owner"):
        members.change_role(membership(alice), membership(alice).pk, R.OWNER)
    with pytest.raises(members.MemberChangeRefused, match="Only an owner can invite"):
        members.create_invitation(membership(alice), role=R.OWNER, days=7)


@pytest.mark.django_db
def test_a_member_of_another_team_is_out_of_reach(owner, bob):
    response = owner.post(reverse("jobs:member_remove", args=[membership(bob).pk]), follow=True)
    assert "no longer a member of this team" in response.content.decode()
    assert Membership.objects.filter(user=bob).exists()


@pytest.mark.django_db
def test_an_invitation_link_makes_a_member_once(owner, alice, client, django_user_model):
    link = invite_link(owner, email="dave@example.com")
    assert Invitation.objects.get().token_hash not in link  # only the hash is kept
    assert link in mail.outbox[0].body and mail.outbox[0].to == ["dave@example.com"]
    assert owner.get(reverse("jobs:members")).content.decode().count('id="new-link"') == 0  # shown once
    dave = django_user_model.objects.create_user("dave", password="pw-dave-123!")
    client.force_login(dave)
    page = client.get(link).content.decode()
    assert "Join Acme" in page and "as <strong>viewer</strong>" in page
    assert client.post(link).status_code == 302
    assert membership(dave).role == R.VIEWER and membership(dave).team == alice.teams.first()

    erin = django_user_model.objects.create_user("erin", password="pw-erin-123!")
    client.force_login(erin)
    response = client.get(link)
    assert response.status_code == 410 and "already been used" in response.content.decode()
    assert not Membership.objects.filter(user=erin).exists()


@pytest.mark.django_db
def test_an_expired_or_withdrawn_link_says_so(owner, alice, client, django_user_model):
    link = invite_link(owner)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    dave = django_user_model.objects.create_user("dave", password="pw-dave-123!")
    client.force_login(dave)
    response = client.post(link)
    assert response.status_code == 410 and "This invitation link expired on" in response.content.decode()
    assert not Membership.objects.filter(user=dave).exists()

    client.force_login(alice)  # `owner` is this same client
    second = invite_link(owner)
    invitation = Invitation.objects.filter(expires_at__gt=timezone.now()).get()
    owner.post(reverse("jobs:invite_revoke", args=[invitation.pk]))
    client.force_login(dave)
    assert "withdrawn" in client.get(second).content.decode()
    assert "not valid" in client.get(reverse("jobs:join", args=["made-up-token"])).content.decode()


@pytest.mark.django_db
def test_opening_a_link_logged_out_asks_to_log_in_first(owner, client):
    link = invite_link(owner)
    client.logout()
    response = client.get(link)
    assert response.status_code == 302 and "/login/" in response.url


@pytest.mark.django_db
def test_creators_and_viewers_cannot_manage_members(client, alice, carol):
    for role in (R.CREATOR, R.VIEWER):
        Membership.objects.filter(user=alice).update(role=role)
        client.force_login(alice)
        assert client.get(reverse("jobs:members")).status_code == 403
        assert client.post(reverse("jobs:member_role", args=[membership(carol).pk]),
                           {"role": "owner"}).status_code == 403
        assert client.post(reverse("jobs:invite"), {"role": "owner", "days": "7"}).status_code == 403
    assert membership(carol).role == R.CREATOR and not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_first_admin_owns_the_first_team(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("bootstrap")
    first = Membership.objects.get(user__username="admin")
    assert first.role == R.OWNER and first.team.name == "Studio"
