"""Fixtures for the API tests: a round with comments of two delegations, and API clients.

`world` holds, in consultation adm-2030:
  version 0.1 (published) under review in `open_round` (secretariat_only visibility),
  version 0.2 (published) with `scheduled_round`, version 0.3 (published, no round),
  version 0.4 (a draft in preparation);
  comments in open_round: `vn_sub` (Viet Nam, submitted, anchored, endorsed),
  `vn_draft` (Viet Nam, draft), `th_sub` (Thailand, submitted), and a reply on vn_sub.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from comments import services
from comments.models import Comment
from consultations.models import DraftVersion, EngagementRound
from tests import factories


@pytest.fixture(autouse=True)
def _generous_throttles():
    """Throttle rates no test reaches (tests/conftest.py empties the cache the counts are in)."""
    with override_settings(API_THROTTLE_RATES={"user": "10000/min", "anon": "10000/min"}):
        yield


@dataclass
class World:
    consultation: object
    version: object
    open_round: EngagementRound
    scheduled_round: EngagementRound
    free_version: DraftVersion
    draft_version: DraftVersion
    vn_sub: Comment
    vn_draft: Comment
    th_sub: Comment
    personas: dict
    orgs: dict


@pytest.fixture
def world(personas, orgs, consultation, version, open_round) -> World:
    factories.PhaseFactory(consultation=consultation, name="First stakeholder engagement")
    v2 = factories.DraftVersionFactory(consultation=consultation, number="0.2")
    factories.SectionFactory(version=v2, key="infra-5g", heading="5G", body="Member states will extend 5G.")
    scheduled = factories.EngagementRoundFactory(
        version=v2,
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=10),
        closes_at=timezone.now() + timedelta(days=20),
    )
    v3 = factories.DraftVersionFactory(consultation=consultation, number="0.3")
    factories.SectionFactory(version=v3, key="infra-5g", heading="5G", body="Member states will extend 5G.")
    v4 = factories.DraftVersionFactory(
        consultation=consultation, number="0.4", status=DraftVersion.Status.DRAFT, published_at=None
    )
    clause = version.sections.get(key="infra-5g")
    vn, vn_fp, th = personas["vn_delegate"], personas["vn_focal_point"], personas["th_delegate"]
    text = clause.body
    start = text.index("5G coverage")
    vn_sub = services.comment_create(
        actor=vn,
        engagement_round=open_round,
        section=clause,
        comment_type=Comment.Type.TECHNICAL,
        body="Name the year for rural areas too.",
        proposed_change="extend 5G coverage to all urban and rural areas",
        language="en",
        anchor=services.AnchorInput(exact="5G coverage", start=start, end=start + len("5G coverage")),
        submit=True,
    )
    vn_sub = services.comment_set_endorsed(actor=vn_fp, comment=vn_sub, endorsed=True)
    vn_draft = services.comment_create(
        actor=vn, engagement_round=open_round, section=clause, comment_type=Comment.Type.EDITORIAL, body="Typo."
    )
    th_sub = services.comment_create(
        actor=th,
        engagement_round=open_round,
        section=clause,
        comment_type=Comment.Type.GENERAL,
        body="We support this target.",
        submit=True,
    )
    services.reply_create(actor=vn_fp, comment=vn_sub, body="Agreed, and add the year.")
    cache.clear()  # the writes above count towards the comment rate limit
    return World(
        consultation=consultation,
        version=version,
        open_round=open_round,
        scheduled_round=scheduled,
        free_version=v3,
        draft_version=v4,
        vn_sub=Comment.objects.get(pk=vn_sub.pk),
        vn_draft=Comment.objects.get(pk=vn_draft.pk),
        th_sub=Comment.objects.get(pk=th_sub.pk),
        personas=personas,
        orgs=orgs,
    )


@pytest.fixture
def client_for():
    """An API client logged in (browser session) as the given user; None: anonymous."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
