"""The audit log in the Django admin: readable, filterable, never added to, changed or deleted."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from tests import factories
from tests.helpers.admin import admin_url, changelist

# session, user, the bounded count, the page of rows, the consultation filter
AUDIT_CHANGELIST_QUERIES = 5


@pytest.mark.parametrize("entries", [2, 60])
def test_the_changelist_takes_the_same_queries_whatever_the_number(admin_client, consultation, entries):
    before = AuditEntry.objects.count()  # logging in the superuser may write entries of its own
    for index in range(entries):
        factories.AuditEntryFactory(
            consultation=consultation, action="round.opened" if index % 2 else "comment.created"
        )
    response, queries = changelist(admin_client, AuditEntry)
    assert response.status_code == 200
    assert response.context["cl"].result_count == before + entries
    assert queries == AUDIT_CHANGELIST_QUERIES


def test_the_action_filter_narrows_to_one_family(admin_client, consultation):
    factories.AuditEntryFactory(consultation=consultation, action="round.opened")
    factories.AuditEntryFactory(consultation=consultation, action="comment.created")
    response, _queries = changelist(admin_client, AuditEntry, "?family=round")
    assert [entry.action for entry in response.context["cl"].result_list] == ["round.opened"]


def test_entries_cannot_be_added_changed_or_deleted(admin_client, consultation):
    entry = factories.AuditEntryFactory(consultation=consultation, action="round.opened", data={"why": "kept"})
    page = admin_client.get(admin_url(entry, "change"))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(admin_url(entry, "change"), {"action": "round.closed"}).status_code == 403
    assert admin_client.post(admin_url(entry, "delete"), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:audit_auditentry_changelist"), {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert response.status_code in (200, 302)
    entry.refresh_from_db()
    assert (entry.action, entry.data) == ("round.opened", {"why": "kept"})
