"""The secretariat's pages for running consultation windows and inviting participants."""

import html
import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Organisation
from consultations.models import DraftVersion, EngagementRound, Invitation, Role, RoundExtension
from notifications.tasks import send_immediate
from tests import factories


def text(response) -> str:
    return html.unescape(response.content.decode())


def local_input(value: datetime, tz: str = "UTC") -> str:
    """What a person types into a datetime-local input, in their time zone."""
    return value.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def login(client, user):
    client.force_login(user)
    return client


# --- permissions --------------------------------------------------------------------------

# fmt: off
# One column per page and method; POST columns send valid data, so a 302 means it was done.
PAGES = ["overview", "round_create", "round_create+", "round_edit", "round_open", "round_close", "round_extend",
         "participants", "invite+"]
MANAGER = (200, 200, 302, 200, 200, 200, 200, 200, 302)
NO_RIGHT = (403,) * 9
NOT_FOUND = (404,) * 9

OWN_CONSULTATION = {
    "secretariat":    MANAGER,
    "admin":          MANAGER,
    "consultant":     (200, 403, 403, 403, 403, 403, 403, 403, 403),  # sees the versions part only
    "vn_delegate":    NO_RIGHT,
    "vn_focal_point": NO_RIGHT,
    "th_delegate":    NO_RIGHT,
    "partner":        NO_RIGHT,
    "outsider":       NOT_FOUND,
}
OTHER_CONSULTATION = {
    "secretariat":    NOT_FOUND,
    "admin":          MANAGER,  # site admins run every consultation
    "consultant":     NOT_FOUND,
    "vn_delegate":    NOT_FOUND,
    "vn_focal_point": NOT_FOUND,
    "th_delegate":    NOT_FOUND,
    "partner":        NOT_FOUND,
    "outsider":       NO_RIGHT,  # takes part in it, as a member state delegate
}
# fmt: on
TABLE = {"own": OWN_CONSULTATION, "other": OTHER_CONSULTATION}
CELLS = [
    pytest.param(persona, where, page, statuses[i], id=f"{persona}-{where}-{page}")
    for where, table in TABLE.items()
    for persona, statuses in table.items()
    for i, page in enumerate(PAGES)
]


@pytest.mark.parametrize(("persona", "where", "page", "expected"), CELLS)
def test_manage_pages_permission_table(
    client, personas, orgs, consultation, other_consultation, version, persona, where, page, expected
):
    target = consultation if where == "own" else other_consultation
    reviewed = version if where == "own" else factories.DraftVersionFactory(consultation=target, number="0.1")
    engagement_round = factories.EngagementRoundFactory(
        version=reviewed, state=EngagementRound.State.SCHEDULED, opens_at=timezone.now() + timedelta(days=1)
    )
    next_version = factories.DraftVersionFactory(consultation=target, number="0.2")
    slug, pk = target.slug, engagement_round.pk
    urls = {
        "overview": reverse("consultations:manage", args=[slug]),
        "round_create": reverse("consultations:round_create", args=[slug]),
        "round_edit": reverse("consultations:round_edit", args=[slug, pk]),
        "round_open": reverse("consultations:round_open", args=[slug, pk]),
        "round_close": reverse("consultations:round_close", args=[slug, pk]),
        "round_extend": reverse("consultations:round_extend", args=[slug, pk]),
        "participants": reverse("consultations:participants", args=[slug]),
    }
    login(client, personas[persona])
    rounds_before = EngagementRound.objects.count()

    if page == "round_create+":
        opens = timezone.now() + timedelta(days=30)
        response = client.post(
            urls["round_create"],
            {
                "version": next_version.pk,
                "title": "Second engagement",
                "opens_at": local_input(opens),
                "closes_at": local_input(opens + timedelta(days=14)),
                "commenting_roles": [Role.MEMBER_STATE],
                "visibility": EngagementRound.Visibility.LIVE,
            },
        )
        assert response.status_code == expected
        assert EngagementRound.objects.count() == rounds_before + (1 if expected == 302 else 0)
    elif page == "invite+":
        response = client.post(
            urls["participants"],
            {
                "email": "new.delegate@example.org",
                "organisation": orgs["vn"].pk,
                "role": Role.MEMBER_STATE,
            },
        )
        assert response.status_code == expected
        assert Invitation.objects.filter(email="new.delegate@example.org").exists() == (expected == 302)
    else:
        response = client.get(urls[page])
        assert response.status_code == expected


def test_consultant_overview_shows_versions_but_no_round_controls(client, consultant, scheduled_round):
    response = login(client, consultant).get(reverse("consultations:manage", args=["adm-2030"]))
    page = text(response)
    assert "Upload a new version" in page
    assert "Schedule a round" not in page
    assert "Open now" not in page
    assert "people take part" not in page


def test_anonymous_visitor_is_sent_to_login(client, consultation):
    response = client.get(reverse("consultations:manage", args=[consultation.slug]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


# --- scheduling and rescheduling ----------------------------------------------------------


def test_secretariat_schedules_a_round_in_its_own_time_zone(client, secretariat, version):
    secretariat.time_zone = "Asia/Ho_Chi_Minh"  # UTC+7
    secretariat.save()
    response = login(client, secretariat).post(
        reverse("consultations:round_create", args=["adm-2030"]),
        {
            "version": version.pk,
            "title": "First stakeholder engagement",
            "opens_at": "2030-07-01T09:00",
            "closes_at": "2030-07-15T17:00",
            "commenting_roles": [Role.MEMBER_STATE, Role.PARTNER],
            "visibility": EngagementRound.Visibility.AFTER_CLOSE,
        },
        follow=True,
    )

    engagement_round = EngagementRound.objects.get()
    assert engagement_round.opens_at == datetime(2030, 7, 1, 2, 0, tzinfo=UTC)
    assert engagement_round.closes_at == datetime(2030, 7, 15, 10, 0, tzinfo=UTC)
    assert engagement_round.state == EngagementRound.State.SCHEDULED
    assert engagement_round.commenting_roles == [Role.MEMBER_STATE, Role.PARTNER]
    page = text(response)
    assert "Round “First stakeholder engagement” is scheduled." in page
    assert "1 July 2030, 09:00" in page  # shown back in the secretariat's time zone
    assert "Open now" in page


def test_round_form_offers_only_published_versions(client, secretariat, version, consultation):
    factories.DraftVersionFactory(
        consultation=consultation, number="0.2", status=DraftVersion.Status.DRAFT, published_at=None
    )
    response = login(client, secretariat).get(reverse("consultations:round_create", args=["adm-2030"]))
    assert list(response.context["form"].fields["version"].queryset) == [version]


def test_round_that_closes_before_it_opens_is_refused(client, secretariat, version):
    response = login(client, secretariat).post(
        reverse("consultations:round_create", args=["adm-2030"]),
        {
            "version": version.pk,
            "title": "Backwards",
            "opens_at": "2030-07-15T09:00",
            "closes_at": "2030-07-15T09:00",
            "commenting_roles": [Role.MEMBER_STATE],
            "visibility": EngagementRound.Visibility.LIVE,
        },
    )
    assert response.status_code == 200
    assert "The round must close after it opens." in text(response)
    assert response.context["form"].errors["closes_at"] == ["The round must close after it opens."]
    assert not EngagementRound.objects.exists()


def test_second_active_round_on_a_version_is_refused(client, secretariat, scheduled_round, version):
    response = login(client, secretariat).post(
        reverse("consultations:round_create", args=["adm-2030"]),
        {
            "version": version.pk,
            "title": "Duplicate",
            "opens_at": "2030-08-01T09:00",
            "closes_at": "2030-08-15T09:00",
            "commenting_roles": [Role.MEMBER_STATE],
            "visibility": EngagementRound.Visibility.LIVE,
        },
    )
    assert response.status_code == 200
    assert "Version 0.1 already has a scheduled or open round." in text(response)
    assert response.context["form"].errors["version"]
    assert list(EngagementRound.objects.values_list("title", flat=True)) == ["First stakeholder engagement"]


def test_reschedule_moves_a_scheduled_round(client, secretariat, scheduled_round):
    url = reverse("consultations:round_edit", args=["adm-2030", scheduled_round.pk])
    response = login(client, secretariat).post(url, {"opens_at": "2031-01-05T08:00", "closes_at": "2031-01-20T18:00"})
    assert response.status_code == 302
    scheduled_round.refresh_from_db()
    assert scheduled_round.opens_at == datetime(2031, 1, 5, 8, 0, tzinfo=UTC)
    assert scheduled_round.final_closes_at == datetime(2031, 1, 20, 18, 0, tzinfo=UTC)


def test_reschedule_that_closes_before_opening_changes_nothing(client, secretariat, scheduled_round):
    before = (scheduled_round.opens_at, scheduled_round.closes_at)
    url = reverse("consultations:round_edit", args=["adm-2030", scheduled_round.pk])
    response = login(client, secretariat).post(url, {"opens_at": "2031-01-20T08:00", "closes_at": "2031-01-05T18:00"})
    assert "The round must close after it opens." in text(response)
    scheduled_round.refresh_from_db()
    assert (scheduled_round.opens_at, scheduled_round.closes_at) == before


def test_round_of_another_consultation_is_not_found(client, secretariat, other_consultation):
    foreign = factories.EngagementRoundFactory(version=factories.DraftVersionFactory(consultation=other_consultation))
    response = login(client, secretariat).get(reverse("consultations:round_edit", args=["adm-2030", foreign.pk]))
    assert response.status_code == 404


# --- opening, closing, extending ----------------------------------------------------------


def test_open_now_asks_for_confirmation_first(client, secretariat, scheduled_round):
    response = login(client, secretariat).get(
        reverse("consultations:round_open", args=["adm-2030", scheduled_round.pk])
    )
    assert "Every participant is e-mailed" in text(response)
    scheduled_round.refresh_from_db()
    assert scheduled_round.state == EngagementRound.State.SCHEDULED


def test_open_now_opens_the_round_and_emails_participants(
    client, personas, scheduled_round, django_capture_on_commit_callbacks
):
    url = reverse("consultations:round_open", args=["adm-2030", scheduled_round.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, personas["secretariat"]).post(url)
    assert response.status_code == 302
    send_immediate.delay().get()  # beat's "at once" e-mails of the notifications

    scheduled_round.refresh_from_db()
    assert scheduled_round.state == EngagementRound.State.OPEN
    assert scheduled_round.is_open_for(None)
    recipients = {address for message in mail.outbox for address in message.to}
    expected = {
        personas[p].email
        for p in ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner"]
    }
    assert recipients == expected  # the outsider takes part elsewhere and hears nothing
    assert "First stakeholder engagement" in mail.outbox[0].subject + mail.outbox[0].body

    page = text(client.get(reverse("consultations:manage", args=["adm-2030"])))
    assert "Round “First stakeholder engagement” is open." in page
    assert "Close now" in page


def test_open_now_on_an_open_round_shows_the_refusal(client, secretariat, open_round):
    url = reverse("consultations:round_open", args=["adm-2030", open_round.pk])
    response = login(client, secretariat).post(url)
    assert response.status_code == 200
    assert "Only a scheduled round can be opened." in text(response)
    assert not mail.outbox


def test_close_now_closes_the_round(client, secretariat, open_round):
    url = reverse("consultations:round_close", args=["adm-2030", open_round.pk])
    response = login(client, secretariat).post(url, follow=True)
    open_round.refresh_from_db()
    assert open_round.state == EngagementRound.State.CLOSED
    assert not open_round.is_open_for(None)
    page = text(response)
    assert "Round “Second stakeholder engagement” is closed." in page
    assert "Close now" not in page


def test_a_round_closed_early_shows_when_it_closed_and_when_it_was_to_close(client, secretariat, open_round):
    planned = open_round.closes_at
    login(client, secretariat).post(reverse("consultations:round_close", args=["adm-2030", open_round.pk]))
    open_round.refresh_from_db()
    page = text(client.get(reverse("consultations:manage", args=["adm-2030"])))
    closed = date_format(timezone.localtime(open_round.closes_at), "DATETIME_FORMAT")
    expected = date_format(timezone.localtime(planned), "DATETIME_FORMAT")
    assert f"closed early on {closed}; planned to close {expected}" in page
    assert reverse("comments:tracker", args=["adm-2030", open_round.pk]) in page  # who answered, still


def test_extension_keeps_the_round_open_for_that_organisation_only(
    client, secretariat, orgs, vn_delegate, th_delegate, open_round
):
    new_deadline = open_round.closes_at + timedelta(days=3)
    url = reverse("consultations:round_extend", args=["adm-2030", open_round.pk])
    response = login(client, secretariat).post(
        url,
        {
            "organisation": orgs["vn"].pk,
            "closes_at": local_input(new_deadline),
            "reason": "National holiday",
        },
        follow=True,
    )

    open_round.refresh_from_db()
    after_closing = open_round.closes_at + timedelta(hours=1)
    assert open_round.is_open_for(orgs["vn"].pk, at=after_closing)
    assert not open_round.is_open_for(orgs["th"].pk, at=after_closing)
    page = text(response)
    assert "Viet Nam may comment on “Second stakeholder engagement” until" in page
    assert "National holiday" in page  # listed with its deadline on the overview
    # The dates beside the countdown are the ones it counts to: the round's and the last extension's.
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    closes = date_format(timezone.localtime(open_round.closes_at), "DATETIME_FORMAT")
    assert f"Closes (without an extension) {closes}" in words
    assert f"Closes for everyone {date_format(timezone.localtime(new_deadline), 'DATETIME_FORMAT')}" in words


def test_extension_ending_before_the_round_closes_is_refused(client, secretariat, orgs, vn_delegate, open_round):
    url = reverse("consultations:round_extend", args=["adm-2030", open_round.pk])
    response = login(client, secretariat).post(
        url,
        {
            "organisation": orgs["vn"].pk,
            "closes_at": local_input(open_round.closes_at - timedelta(hours=2)),
        },
    )
    assert response.status_code == 200
    assert "An extension must end after the round closes" in text(response)
    assert "closes_at" in response.context["form"].errors
    assert not RoundExtension.objects.exists()
    open_round.refresh_from_db()
    assert open_round.final_closes_at == open_round.closes_at


def test_extension_is_offered_only_to_participating_organisations(client, secretariat, orgs, vn_delegate, open_round):
    url = reverse("consultations:round_extend", args=["adm-2030", open_round.pk])
    form = login(client, secretariat).get(url).context["form"]
    assert set(form.fields["organisation"].queryset) == {orgs["asec"], orgs["vn"]}


# --- participants -------------------------------------------------------------------------


def test_participants_page_lists_people_and_pending_invitations(client, personas, orgs):
    Invitation.objects.create(
        email="pending@example.org",
        consultation=personas["secretariat"].participations.get().consultation,
        organisation=orgs["th"],
        role=Role.MEMBER_STATE,
        invited_by=personas["secretariat"],
    )
    response = login(client, personas["secretariat"]).get(reverse("consultations:participants", args=["adm-2030"]))
    page = text(response)
    assert "6 people take part" in page
    assert "vn.focal@example.org" in page
    assert "pending@example.org" in page
    assert "outsider@example.org" not in page


def test_invitation_is_sent(client, secretariat, orgs, django_capture_on_commit_callbacks):
    url = reverse("consultations:participants", args=["adm-2030"])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, secretariat).post(
            url,
            {
                "email": "Focal.Point@Example.org",
                "organisation": orgs["th"].pk,
                "role": Role.MEMBER_STATE,
                "is_focal_point": "on",
            },
            follow=True,
        )
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.organisation, invitation.is_focal_point) == (
        "focal.point@example.org",
        orgs["th"],
        True,
    )
    assert [m.to for m in mail.outbox] == [["focal.point@example.org"]]
    assert "An invitation is on its way to focal.point@example.org." in text(response)


def test_invitation_for_someone_of_another_organisation_is_refused(client, secretariat, vn_delegate, orgs):
    url = reverse("consultations:participants", args=["adm-2030"])
    response = login(client, secretariat).post(
        url,
        {
            "email": vn_delegate.email,
            "organisation": orgs["th"].pk,
            "role": Role.MEMBER_STATE,
        },
    )
    assert response.status_code == 200
    assert "vn.delegate@example.org already belongs to Viet Nam; a person acts for one organisation." in text(response)
    assert response.context["form"].errors["email"]
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_invitation_with_a_role_that_does_not_fit_the_organisation_is_refused(client, secretariat, orgs):
    response = login(client, secretariat).post(
        reverse("consultations:participants", args=["adm-2030"]),
        {
            "email": "someone@example.org",
            "organisation": orgs["partner"].pk,
            "role": Role.MEMBER_STATE,
        },
    )
    assert "The role must match the organisation" in text(response)
    assert not Invitation.objects.exists()


# --- query counts -------------------------------------------------------------------------


def _rounds_with_extensions(consultation, count):
    org = Organisation.objects.get(name="Viet Nam")
    for n in range(count):
        version = factories.DraftVersionFactory(consultation=consultation, number=f"1.{n}")
        engagement_round = factories.EngagementRoundFactory(version=version, state=EngagementRound.State.CLOSED)
        RoundExtension.objects.create(
            round=engagement_round, organisation=org, closes_at=engagement_round.closes_at + timedelta(days=1)
        )


@pytest.mark.parametrize("rounds", [2, 20])
def test_overview_query_count_does_not_grow_with_rounds(
    client, secretariat, vn_delegate, consultation, rounds, django_assert_num_queries
):
    _rounds_with_extensions(consultation, rounds)
    login(client, secretariat)
    # session, user, consultation, participation, rounds, extensions, the closed rounds' stages
    # (consolidation's runs), participant count, versions, the header's unread notifications
    with django_assert_num_queries(10):
        response = client.get(reverse("consultations:manage", args=["adm-2030"]))
    assert len(response.context["rounds"]) == rounds


@pytest.mark.parametrize("people", [2, 20])
def test_participants_query_count_does_not_grow_with_participants(
    client, secretariat, orgs, consultation, people, django_assert_num_queries
):
    for n in range(people):
        factories.ParticipationFactory(
            consultation=consultation,
            organisation=orgs["th"],
            role=Role.MEMBER_STATE,
            user=factories.UserFactory(organisation=orgs["th"]),
        )
        Invitation.objects.create(
            email=f"invitee{n}@example.org",
            consultation=consultation,
            organisation=orgs["th"],
            role=Role.MEMBER_STATE,
            invited_by=secretariat,
        )
    login(client, secretariat)
    # session, user, consultation, participation, participant count, participants, invitations,
    # organisations for the invitation form, the header's unread notifications
    with django_assert_num_queries(9):
        response = client.get(reverse("consultations:participants", args=["adm-2030"]))
    assert response.context["page"].paginator.count == people + 1
