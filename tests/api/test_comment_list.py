"""The comment list endpoint: its lean rows equal the serializer's, and the section filter pages in order."""

import zoneinfo

import pytest
from django.utils import timezone

from api.serializers.comments import CommentSerializer, comment_data
from comments import services
from comments.models import Comment


def _varied(world) -> list[Comment]:
    """Comments in every shape a row can take: anchored and endorsed, draft, hidden, withdrawn."""
    secretariat, th = world.personas["secretariat"], world.personas["th_delegate"]
    clause = world.version.sections.get(key="infra-5g")
    hidden = services.comment_create(
        actor=th,
        engagement_round=world.open_round,
        section=clause,
        comment_type=Comment.Type.GENERAL,
        body="Ngôn ngữ: tiếng Việt, ไทย.",
        language="vi",
        submit=True,
    )
    services.comment_hide(actor=secretariat, comment=hidden, reason="Off topic.")
    withdrawn = services.comment_create(
        actor=th, engagement_round=world.open_round, section=clause, comment_type="ed", body="Withdrawn.", submit=True
    )
    services.comment_withdraw(actor=th, comment=withdrawn)
    comments = Comment.objects.filter(round=world.open_round).select_related("section", "author", "organisation")
    return list(comments.order_by("id"))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Ho_Chi_Minh"])
def test_the_lean_rows_are_the_serializers_rows(world, zone):
    comments = _varied(world)
    assert {c.status for c in comments} == {"draft", "submitted", "withdrawn"}
    assert any(c.is_hidden for c in comments) and any(c.is_endorsed and c.is_anchored for c in comments)

    with timezone.override(zoneinfo.ZoneInfo(zone)):
        lean = [comment_data(c) for c in comments]
        serialized = CommentSerializer(comments, many=True).data

    assert lean == [dict(row) for row in serialized]
    assert [list(row) for row in lean] == [list(row) for row in serialized]  # the keys in the same order


def test_the_section_filter_pages_through_one_sections_comments_in_order(world, client_for, settings):
    _varied(world)
    settings.API_PAGE_SIZE = 2
    client = client_for(world.personas["secretariat"])
    url = f"/api/v1/rounds/{world.open_round.pk}/comments/?section=infra-5g"
    expected = list(
        Comment.objects.filter(round=world.open_round, section__key="infra-5g")
        .exclude(status=Comment.Status.DRAFT)
        .order_by("id")
        .values_list("id", flat=True)
    )

    seen = []
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        assert all(row["section"] == "infra-5g" for row in page["results"])
        url = page["next"]

    assert seen == expected and len(expected) == 4


def test_a_section_key_the_rounds_version_does_not_have_lists_nothing(world, client_for):
    """infra-5g exists in other versions of the consultation; "nowhere" in none."""
    client = client_for(world.personas["secretariat"])
    for key in ("nowhere", "infra-dc"):
        response = client.get(f"/api/v1/rounds/{world.open_round.pk}/comments/", {"section": key})
        assert response.status_code == 200
        assert response.json()["results"] == []
