"""The response tracker page: who sees it, what it shows, how it sorts and reminds."""

import pytest
from django.core import mail
from django.urls import reverse

from comments import services
from comments.models import Comment
from consultations.models import RoundReminder
from tests import factories

SLUG = "adm-2030"


def _url(engagement_round, sort=""):
    url = reverse("comments:tracker", args=[SLUG, engagement_round.pk])
    return f"{url}?sort={sort}" if sort else url


@pytest.fixture
def vn_position_changed(open_round, clause, vn_delegate, vn_focal_point):
    """Viet Nam submitted its position with one comment, then endorsed a second one."""
    first, second = (
        services.comment_create(
            actor=vn_delegate,
            engagement_round=open_round,
            section=clause,
            comment_type=Comment.Type.TECHNICAL,
            body=body,
            submit=True,
        )
        for body in ("Name a year for the 5G target.", "Add rural coverage.")
    )
    services.comment_set_endorsed(actor=vn_focal_point, comment=first, endorsed=True)
    services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)
    services.comment_set_endorsed(actor=vn_focal_point, comment=second, endorsed=True)


def test_who_may_see_the_tracker(client, personas, open_round):
    expected = {
        "secretariat": 200,
        "consultant": 200,  # an organiser: reads it, does not send reminders
        "admin": 200,
        "vn_delegate": 403,
        "vn_focal_point": 403,
        "th_delegate": 403,
        "partner": 403,
        "outsider": 404,  # not in this consultation: never a hint that it exists
    }
    for persona, status in expected.items():
        client.force_login(personas[persona])
        assert client.get(_url(open_round)).status_code == status, persona


def test_anonymous_visitors_are_sent_to_sign_in(client, open_round):
    response = client.get(_url(open_round))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_who_may_send_reminders(client, personas, open_round, th_delegate):
    expected = {"consultant": 403, "vn_delegate": 403, "vn_focal_point": 403, "partner": 403, "outsider": 404}
    for persona, status in expected.items():
        client.force_login(personas[persona])
        response = client.post(_url(open_round), {"organisations": [th_delegate.organisation_id]})
        assert response.status_code == status, persona
    assert not RoundReminder.objects.exists()
    assert not mail.outbox


def test_the_page_shows_drafts_submitted_and_a_position_changed_since(
    client, secretariat, open_round, th_delegate, partner, vn_position_changed, clause
):
    factories.CommentFactory(round=open_round, section=clause, author=th_delegate)  # a Thai draft
    client.force_login(secretariat)
    response = client.get(_url(open_round))
    page = response.content.decode()
    assert response.status_code == 200
    rows = {row.organisation.name: row for row in response.context["tracker"].rows}
    assert (rows["Thailand"].drafts, rows["Thailand"].submitted) == (1, 0)
    assert "changed since submission: 2 endorsed now" in page
    assert "1 of 3 organisations has answered" in page
    # Nothing submitted and not reminded yet: ticked for a reminder; Viet Nam has answered and is not.
    assert f'value="{th_delegate.organisation_id}" id="remind-{th_delegate.organisation_id}" checked' in page
    assert f'value="{partner.organisation_id}" id="remind-{partner.organisation_id}" checked' in page
    vn = rows["Viet Nam"].organisation.pk
    assert f'value="{vn}" id="remind-{vn}">' in page
    # The table scrolls sideways on a phone, in a region a keyboard can reach.
    assert 'class="table-wrap" role="region"' in page and 'tabindex="0"' in page


def test_the_draft_text_never_reaches_the_secretariat(client, secretariat, open_round, clause, th_delegate):
    factories.CommentFactory(round=open_round, section=clause, author=th_delegate, body="Secret Thai draft wording.")
    client.force_login(secretariat)
    page = client.get(_url(open_round)).content.decode()
    assert "Secret Thai draft wording." not in page


def test_headers_sort_the_table_and_say_so(client, secretariat, open_round, vn_position_changed, th_delegate, partner):
    client.force_login(secretariat)
    response = client.get(_url(open_round, "-submitted"))
    assert [row.organisation.name for row in response.context["tracker"].rows][0] == "Viet Nam"
    page = response.content.decode()
    assert 'aria-sort="descending" class="num"><a href="?sort=submitted">' in page  # the next click: ascending
    assert 'aria-sort="none" class="num"><a href="?sort=drafts">' in page


def test_a_reminder_goes_to_each_participant_of_the_organisations_ticked(
    client,
    secretariat,
    open_round,
    th_delegate,
    th_focal_point,
    partner,
    vn_delegate,
    django_capture_on_commit_callbacks,
):
    client.force_login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(open_round), {"organisations": [th_delegate.organisation_id]}, follow=True)
    assert response.status_code == 200
    assert "A reminder is on its way to 2 people of Thailand." in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([th_delegate.email, th_focal_point.email])
    # The tracker now says when Thailand was reminded.
    rows = {row.organisation.name: row for row in response.context["tracker"].rows}
    assert rows["Thailand"].last_reminded_at is not None and rows["Thailand"].reminded_recently


def test_a_second_reminder_within_the_hour_is_refused_with_a_clear_message(
    client, secretariat, open_round, th_delegate, partner, django_capture_on_commit_callbacks
):
    client.force_login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(open_round), {"organisations": [th_delegate.organisation_id]})
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(open_round), {"organisations": [th_delegate.organisation_id, partner.organisation_id]}
        )
    page = response.content.decode()
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 3500
    assert "Thailand had a reminder at" in page and "at most once an hour" in page and "Nobody was reminded." in page
    assert len(mail.outbox) == sent  # the partner was not reminded either: all or nothing
    assert RoundReminder.objects.filter(organisation=partner.organisation).count() == 0


def test_reminding_nobody_is_refused_on_the_page(client, secretariat, open_round, th_delegate):
    client.force_login(secretariat)
    response = client.post(_url(open_round), {})
    assert response.status_code == 400
    assert "Choose at least one organisation to remind." in response.content.decode()


@pytest.mark.parametrize("organisations", [2, 10])
def test_the_page_takes_the_same_queries_whatever_the_number_of_organisations(
    client, secretariat, consultation, open_round, clause, organisations, django_assert_num_queries
):
    from accounts.models import Role
    from tests.helpers.people import participant

    for index in range(organisations):
        organisation = factories.OrganisationFactory(
            name=f"State {index}", kind=Role.MEMBER_STATE, country_code=f"Q{index}"
        )
        author = participant(consultation, organisation, f"s{index}@example.org", Role.MEMBER_STATE)
        factories.CommentFactory.create_batch(3, round=open_round, section=clause, author=author)
    client.force_login(secretariat)
    # session, user, consultation, participation, round, the tracker's six, the header's unread
    # notifications
    with django_assert_num_queries(13):
        response = client.get(_url(open_round))
    assert len(response.context["tracker"].rows) == organisations
