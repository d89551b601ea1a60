"""config.admin_kit: a changelist never counts a whole big table."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organisation
from config.admin_kit import BoundedCountPaginator
from tests import factories


class SmallLimit(BoundedCountPaginator):
    limit = 3


def test_the_count_stops_past_the_limit_and_says_so(db):
    factories.OrganisationFactory.create_batch(5)
    with CaptureQueriesContext(connection) as captured:
        paginator = SmallLimit(Organisation.objects.order_by("pk"), 2)
        assert paginator.count == 4  # the limit and one more: "more than 3"
    assert paginator.capped
    assert "LIMIT 4" in captured[0]["sql"]  # the database stopped counting there
    assert [org.pk for org in paginator.page(2)] == list(
        Organisation.objects.order_by("pk").values_list("pk", flat=True)[2:4]
    )


def test_under_the_limit_the_count_is_exact(db):
    factories.OrganisationFactory.create_batch(2)
    paginator = SmallLimit(Organisation.objects.order_by("pk"), 2)
    assert (paginator.count, paginator.capped) == (2, False)


def test_the_admin_page_says_more_than_the_limit(admin_client, db, monkeypatch):
    from comments.admin import CommentAdmin

    monkeypatch.setattr(CommentAdmin, "paginator", SmallLimit)
    round_ = factories.EngagementRoundFactory()
    section = factories.SectionFactory(version=round_.version)
    factories.SubmittedCommentFactory.create_batch(5, round=round_, section=section)
    page = admin_client.get(reverse("admin:comments_comment_changelist")).content.decode()
    assert "more than 3 comments" in page
