"""config.admin_kit: a changelist never counts a whole big table; the admin's inputs all have names."""

import re

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


def _input(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input {name}"
    return tag.group(0)


def test_a_split_date_and_time_names_both_of_its_inputs(admin_client, scheduled_round):
    page = admin_client.get(
        reverse("admin:consultations_engagementround_change", args=[scheduled_round.pk])
    ).content.decode()
    # One <label> for two inputs, neither of them its target: each says what it is.
    assert 'aria-label="Opens at: Date"' in _input(page, "opens_at_0")
    assert 'aria-label="Opens at: Time"' in _input(page, "opens_at_1")
    assert 'aria-label="Closes at: Time"' in _input(page, "closes_at_1")


def test_a_tabular_inline_names_its_cells_and_delete_boxes(admin_client, consultation):
    factories.PhaseFactory(consultation=consultation)
    page = admin_client.get(reverse("admin:consultations_consultation_change", args=[consultation.pk])).content.decode()
    # The empty row the admin's "Add another" copies, and every stored row.
    assert 'aria-label="Name"' in _input(page, "phases-__prefix__-name")
    assert 'aria-label="Starts on"' in _input(page, "phases-__prefix__-starts_on")
    assert 'aria-label="Delete"' in _input(page, "phases-0-DELETE")


def test_people_and_groups_get_plain_selects_not_the_two_pane_filter(admin_client, vn_delegate):
    from django.contrib.auth.models import Group

    page = admin_client.get(reverse("admin:accounts_user_change", args=[vn_delegate.pk])).content.decode()
    assert "selectfilter" not in page.lower()  # SelectFilter2 misuses aria-label on its icons
    assert "admin-autocomplete" not in page  # select2's combobox has no name
    assert re.search(r'<label[^>]*for="id_organisation"', page)
    group = Group.objects.create(name="Editors")
    page = admin_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "selectfilter" not in page.lower()


def test_the_changelist_search_box_has_a_text_label(admin_client, db):
    page = admin_client.get(reverse("admin:comments_comment_changelist")).content.decode()
    label = re.search(r'<label for="searchbar">(.*?)</label>', page, re.S)
    assert label and re.search(r'<span class="visually-hidden">\s*Search\s*</span>', label.group(1))
