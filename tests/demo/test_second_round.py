"""The demo seed shows the open round mid-way: comments, replies and Viet Nam's national position."""

import pytest
from django.core import mail
from django.core.cache import cache

from accounts.models import User
from comments.models import Comment, NationalPosition, Reply
from comments.selectors import comments_visible_to
from consultations.models import EngagementRound
from demo.seed import seed_demo
from notifications.mail import send_immediate


@pytest.fixture
def seeded(db, django_capture_on_commit_callbacks):
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    return EngagementRound.objects.get(title="Second stakeholder engagement")


def test_open_round_holds_submitted_and_draft_comments_with_replies(seeded):
    comments = Comment.objects.filter(round=seeded)
    assert comments.filter(status=Comment.Status.SUBMITTED).count() == 6
    assert comments.filter(status=Comment.Status.DRAFT).count() == 1
    assert Reply.objects.filter(comment__round=seeded).count() == 2
    vietnamese = comments.get(language="vi")
    assert vietnamese.body.startswith("Đề nghị bổ sung")
    assert vietnamese.quote_exact == "starting with a few high-value cross-border uses"


def test_viet_nam_has_submitted_its_national_position(seeded):
    position = NationalPosition.objects.get(round=seeded, organisation__name="Viet Nam")
    assert position.endorsed_count == 3
    assert Comment.objects.filter(round=seeded, is_endorsed=True, organisation__name="Viet Nam").count() == 3


def test_visibility_of_the_demo_comments_follows_the_round_policy(seeded):
    th_delegate = User.objects.get(email="th.delegate@example.org")
    secretariat = User.objects.get(email="secretariat@example.org")
    th_sees = comments_visible_to(user=th_delegate, engagement_round=seeded)
    assert set(th_sees.values_list("organisation__name", flat=True)) == {"Thailand"}
    secretariat_sees = comments_visible_to(user=secretariat, engagement_round=seeded)
    assert secretariat_sees.count() == 6  # every submitted comment, no drafts


def test_seeding_twice_adds_no_comment_and_sends_no_mail(seeded, django_capture_on_commit_callbacks):
    before = Comment.objects.count(), Reply.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        result = seed_demo()
    assert result["created"]["comments"] == 0
    assert (Comment.objects.count(), Reply.objects.count()) == before
    assert send_immediate() == 0
    assert mail.outbox == []
