"""consultations.access: what each persona may do in a round, right now (one answer for every page).

The rule "may comment in this round" used to be written three ways, and they disagreed for site
admins: the overview page told them "Read and comment" while the rule refused them. Decided: site
admins run the window and do not comment (they act for no delegation); the overview now says so.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consultations.access import round_access, round_window
from consultations.models import EngagementRound, RoundExtension
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "persona, may_comment, organiser",
    [
        ("secretariat", False, True),
        ("consultant", False, True),
        ("admin", False, True),
        ("vn_delegate", True, False),
        ("vn_focal_point", True, False),
        ("partner", True, False),
        ("outsider", False, False),
    ],
)
def test_round_access_per_persona(personas, open_round, persona, may_comment, organiser):
    access = round_access(user=personas[persona], engagement_round=open_round)
    assert access.may_comment is may_comment
    assert access.is_organiser is organiser
    assert access.can_write is may_comment  # the round is open for everyone
    assert access.note == (None if may_comment else "role")


def test_extension_and_early_close_are_the_window_of_the_organisation(personas, open_round, orgs):
    now = timezone.now()
    RoundExtension.objects.create(
        round=open_round, organisation=orgs["th"], closes_at=open_round.closes_at + timedelta(days=2)
    )
    th = round_window(open_round, orgs["th"].pk, now=now)
    vn = round_window(open_round, orgs["vn"].pk, now=now)
    assert th.extended and th.closes_at == open_round.closes_at + timedelta(days=2)
    assert not vn.extended and vn.closes_at == open_round.closes_at
    # After the closing second, Viet Nam is closed and Thailand, extended, is not.
    after = open_round.closes_at + timedelta(seconds=1)
    assert not round_window(open_round, orgs["vn"].pk, now=after).is_open
    assert round_window(open_round, orgs["th"].pk, now=after).is_open
    access = round_access(user=personas["vn_delegate"], engagement_round=open_round, now=after)
    assert access.note == "closed" and not access.can_write


def test_a_round_not_yet_open_says_so(personas, version):
    later = factories.EngagementRoundFactory(
        version=version,
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=10),
    )
    assert round_access(user=personas["vn_delegate"], engagement_round=later).note == "not_open"


def test_overview_does_not_invite_a_site_admin_to_comment(client, personas, open_round, consultation):
    url = reverse("consultations:detail", args=[consultation.slug])
    client.force_login(personas["admin"])
    assert "Read and comment" not in client.get(url).content.decode()
    client.force_login(personas["vn_delegate"])
    assert "Read and comment" in client.get(url).content.decode()
