"""The Django admin runs consultation windows through the same services as the secretariat's pages."""

import html
from datetime import UTC, datetime, timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from consultations.models import EngagementRound, Role, RoundExtension
from notifications.tasks import send_immediate
from tests import factories


def text(response) -> str:
    return html.unescape(response.content.decode())


def run_action(client, action, rounds):
    return client.post(
        reverse("admin:consultations_engagementround_changelist"),
        {"action": action, "_selected_action": [r.pk for r in rounds]},
        follow=True,
    )


def round_add_data(version, *, opens, closes, title="Round from the admin"):
    return {
        "version": version.pk,
        "title": title,
        "opens_at_0": opens.strftime("%Y-%m-%d"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": closes.strftime("%Y-%m-%d"),
        "closes_at_1": closes.strftime("%H:%M:%S"),
        "commenting_roles": [Role.MEMBER_STATE, Role.PARTNER],
        "visibility": EngagementRound.Visibility.LIVE,
        "extensions-TOTAL_FORMS": "0",
        "extensions-INITIAL_FORMS": "0",
    }


# --- actions ------------------------------------------------------------------------------


def test_round_changelist_filters_by_state(admin_client, consultation, open_round):
    factories.EngagementRoundFactory(
        version=factories.DraftVersionFactory(consultation=consultation, number="0.2"),
        title="First stakeholder engagement",
        state=EngagementRound.State.SCHEDULED,
    )
    response = admin_client.get(reverse("admin:consultations_engagementround_changelist") + "?state__exact=open")
    page = text(response)
    assert response.status_code == 200
    assert "Second stakeholder engagement" in page
    assert "First stakeholder engagement" not in page  # filtered out by state


def test_open_now_action_opens_the_round_and_emails_participants(
    admin_client, scheduled_round, vn_delegate, partner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "open_now", [scheduled_round])
    send_immediate.delay().get()  # beat's "at once" e-mails of the notifications
    scheduled_round.refresh_from_db()
    assert scheduled_round.state == EngagementRound.State.OPEN
    assert "“First stakeholder engagement” is open" in text(response)
    assert {m.to[0] for m in mail.outbox} == {vn_delegate.email, partner.email}
    assert AuditEntry.objects.filter(action="round.opened", target_id=str(scheduled_round.pk)).exists()


def test_open_now_action_refuses_an_open_round_with_a_message(admin_client, open_round):
    response = run_action(admin_client, "open_now", [open_round])
    assert "Second stakeholder engagement: Only a scheduled round can be opened." in text(response)
    open_round.refresh_from_db()
    assert open_round.opened_at is None  # untouched
    assert not mail.outbox


def test_close_now_action_closes_the_round(admin_client, open_round):
    response = run_action(admin_client, "close_now", [open_round])
    open_round.refresh_from_db()
    assert open_round.state == EngagementRound.State.CLOSED
    assert "“Second stakeholder engagement” is closed." in text(response)


def test_close_now_action_refuses_a_scheduled_round_with_a_message(admin_client, scheduled_round):
    response = run_action(admin_client, "close_now", [scheduled_round])
    assert "First stakeholder engagement: Only an open round can be closed." in text(response)
    scheduled_round.refresh_from_db()
    assert scheduled_round.state == EngagementRound.State.SCHEDULED


# --- adding and changing rounds -----------------------------------------------------------


def test_adding_a_round_that_closes_before_it_opens_shows_an_error(admin_client, version):
    opens = datetime(2030, 7, 15, 9, 0, tzinfo=UTC)
    response = admin_client.post(
        reverse("admin:consultations_engagementround_add"),
        round_add_data(version, opens=opens, closes=opens - timedelta(days=1)),
    )
    assert response.status_code == 200
    assert "The round must close after it opens." in text(response)
    assert not EngagementRound.objects.exists()
    assert not AuditEntry.objects.exists()


def test_adding_a_second_active_round_on_a_version_shows_an_error(admin_client, version, scheduled_round):
    opens = datetime(2030, 7, 15, 9, 0, tzinfo=UTC)
    response = admin_client.post(
        reverse("admin:consultations_engagementround_add"),
        round_add_data(version, opens=opens, closes=opens + timedelta(days=14)),
    )
    assert "Version 0.1 already has a scheduled or open round." in text(response)
    assert EngagementRound.objects.count() == 1


def test_adding_a_round_goes_through_the_scheduling_service(admin_client, superuser, version):
    opens = datetime(2030, 7, 1, 9, 0, tzinfo=UTC)
    response = admin_client.post(
        reverse("admin:consultations_engagementround_add"),
        round_add_data(version, opens=opens, closes=opens + timedelta(days=14)),
    )
    assert response.status_code == 302
    engagement_round = EngagementRound.objects.get()
    assert engagement_round.final_closes_at == opens + timedelta(days=14)
    assert engagement_round.created_by == superuser
    assert engagement_round.state == EngagementRound.State.SCHEDULED
    assert AuditEntry.objects.filter(action="round.scheduled").count() == 1


def test_changing_round_times_goes_through_rescheduling(admin_client, scheduled_round):
    url = reverse("admin:consultations_engagementround_change", args=[scheduled_round.pk])
    data = {
        "opens_at_0": "2031-01-05",
        "opens_at_1": "08:00:00",
        "closes_at_0": "2031-01-04",
        "closes_at_1": "08:00:00",
        "commenting_roles": scheduled_round.commenting_roles,  # ticked as they are
        "extensions-TOTAL_FORMS": "0",
        "extensions-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert "The round must close after it opens." in text(response)
    scheduled_round.refresh_from_db()
    assert scheduled_round.opens_at.year != 2031

    data["closes_at_0"] = "2031-01-20"
    assert admin_client.post(url, data).status_code == 302
    scheduled_round.refresh_from_db()
    assert scheduled_round.final_closes_at == datetime(2031, 1, 20, 8, 0, tzinfo=UTC)
    assert AuditEntry.objects.filter(action="round.rescheduled").count() == 1


def test_roles_are_ticked_on_the_new_round_form_and_stored_as_a_list(admin_client, version):
    page = text(admin_client.get(reverse("admin:consultations_engagementround_add")))
    assert 'type="checkbox" name="commenting_roles" value="member_state"' in page
    opens = timezone.now() + timedelta(days=1)
    data = round_add_data(version, opens=opens, closes=opens + timedelta(days=14))
    data["commenting_roles"] = [Role.PARTNER, Role.MEMBER_STATE]
    assert admin_client.post(reverse("admin:consultations_engagementround_add"), data).status_code == 302
    assert EngagementRound.objects.get().commenting_roles == ["member_state", "partner"]


def test_a_scheduled_rounds_roles_change_with_checkboxes(admin_client, scheduled_round):
    url = reverse("admin:consultations_engagementround_change", args=[scheduled_round.pk])
    page = text(admin_client.get(url))
    assert 'type="checkbox" name="commenting_roles" value="partner" id="id_commenting_roles_3" checked' in page
    local = timezone.localtime
    data = {
        "opens_at_0": local(scheduled_round.opens_at).strftime("%Y-%m-%d"),
        "opens_at_1": local(scheduled_round.opens_at).strftime("%H:%M:%S"),
        "closes_at_0": local(scheduled_round.closes_at).strftime("%Y-%m-%d"),
        "closes_at_1": local(scheduled_round.closes_at).strftime("%H:%M:%S"),
        "commenting_roles": [Role.PARTNER],
        "extensions-TOTAL_FORMS": "0",
        "extensions-INITIAL_FORMS": "0",
    }
    assert admin_client.post(url, data).status_code == 302
    scheduled_round.refresh_from_db()
    assert scheduled_round.commenting_roles == ["partner"]
    assert AuditEntry.objects.filter(action="round.roles_changed").count() == 1
    data["commenting_roles"] = []
    assert "This field is required." in text(admin_client.post(url, data))


def test_an_open_rounds_roles_read_as_words_not_json(admin_client, open_round):
    page = text(admin_client.get(reverse("admin:consultations_engagementround_change", args=[open_round.pk])))
    assert "Member state, Development partner" in page
    assert '["member_state"' not in page and 'name="commenting_roles"' not in page


def test_a_round_closed_early_shows_its_planned_closing_time(admin_client, open_round):
    planned = open_round.closes_at
    run_action(admin_client, "close_now", [open_round])
    open_round.refresh_from_db()
    assert open_round.planned_closes_at == planned
    page = text(admin_client.get(reverse("admin:consultations_engagementround_change", args=[open_round.pk])))
    assert "planned closing time" in page.lower()


def test_closed_round_times_are_read_only(admin_client, version):
    closed = factories.EngagementRoundFactory(version=version, state=EngagementRound.State.CLOSED)
    response = admin_client.get(reverse("admin:consultations_engagementround_change", args=[closed.pk]))
    assert response.status_code == 200
    assert 'name="closes_at_0"' not in response.content.decode()


# --- extensions ---------------------------------------------------------------------------


def extension_data(engagement_round, organisation, closes_at):
    return {
        "round": engagement_round.pk,
        "organisation": organisation.pk,
        "closes_at_0": closes_at.strftime("%Y-%m-%d"),
        "closes_at_1": closes_at.strftime("%H:%M:%S"),
        "reason": "Inter-ministerial consultation",
    }


def test_extension_ending_before_the_round_closes_is_refused_in_the_admin(admin_client, orgs, vn_delegate, open_round):
    response = admin_client.post(
        reverse("admin:consultations_roundextension_add"),
        extension_data(open_round, orgs["vn"], open_round.closes_at - timedelta(days=1)),
    )
    assert "An extension must end after the round closes" in text(response)
    assert not RoundExtension.objects.exists()


def test_extension_through_the_admin_keeps_the_round_open_for_that_organisation(
    admin_client, orgs, vn_delegate, th_delegate, open_round
):
    deadline = (open_round.closes_at + timedelta(days=2)).replace(microsecond=0)
    response = admin_client.post(
        reverse("admin:consultations_roundextension_add"), extension_data(open_round, orgs["vn"], deadline)
    )
    assert response.status_code == 302
    open_round.refresh_from_db()
    assert open_round.final_closes_at == deadline
    after_closing = open_round.closes_at + timedelta(hours=1)
    assert open_round.is_open_for(orgs["vn"].pk, at=after_closing)
    assert not open_round.is_open_for(orgs["th"].pk, at=after_closing)


def test_round_page_links_to_the_extension_form(admin_client, open_round):
    response = admin_client.get(reverse("admin:consultations_engagementround_change", args=[open_round.pk]))
    assert reverse("admin:consultations_roundextension_add") + f"?round={open_round.pk}" in response.content.decode()


# --- read-only records --------------------------------------------------------------------


def test_published_version_cannot_be_edited_in_the_admin(admin_client, version):
    url = reverse("admin:consultations_draftversion_change", args=[version.pk])
    assert 'name="title"' not in admin_client.get(url).content.decode()


def test_notices_are_read_only(admin_client, open_round, vn_delegate):
    notice = open_round.notices.create(user=vn_delegate, kind="opened", sent_at=timezone.now())
    assert admin_client.get(reverse("admin:consultations_roundnotice_changelist")).status_code == 200
    response = admin_client.post(reverse("admin:consultations_roundnotice_change", args=[notice.pk]), {"kind": "x"})
    notice.refresh_from_db()
    assert notice.kind == "opened"
    assert response.status_code in (302, 403)
