"""Comment threads, endorsement, national positions, moderation and "my delegation's comments".

What a delegate, a focal point or the secretariat notices in the browser: what they can see,
what a refused write says (and that it changed nothing), and that pages cost a fixed number
of queries however long the thread or the list.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments import selectors, services
from comments.models import Comment, CommentFlag, NationalPosition, Reply
from consultations.models import EngagementRound, Section
from notifications.mail import send_immediate
from tests import factories

pytestmark = pytest.mark.django_db

SLUG = "adm-2030"
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- helpers and fixtures -----------------------------------------------------------------


def _comment(author, engagement_round, *, body="Extend coverage to rural areas too.", status="submitted", **fields):
    participation = author.participations.get(consultation=engagement_round.consultation)
    section = fields.pop("section", None) or Section.objects.get(version=engagement_round.version, key="infra-5g")
    return Comment.objects.create(
        round=engagement_round,
        section=section,
        author=author,
        organisation=participation.organisation,
        body=body,
        status=status,
        submitted_at=timezone.now() if status == Comment.Status.SUBMITTED else None,
        **fields,
    )


def _url(name, *args):
    return reverse(f"comments:{name}", args=[SLUG, *args])


@pytest.fixture
def live_round(open_round):
    open_round.visibility = EngagementRound.Visibility.LIVE
    open_round.save()
    return open_round


@pytest.fixture
def vn_comment(vn_delegate, open_round):
    return _comment(vn_delegate, open_round)


def _login(client, user):
    client.force_login(user)
    return client


# --- replies ------------------------------------------------------------------------------


def test_colleague_reply_shows_in_thread_and_author_gets_one_digest_for_three_replies(
    client, vn_delegate, vn_focal_point, vn_comment, django_capture_on_commit_callbacks
):
    _login(client, vn_focal_point)
    with django_capture_on_commit_callbacks(execute=True):
        for number in (1, 2, 3):
            response = client.post(_url("reply", vn_comment.pk), {"body": f"Agreed, point {number}.", "language": "en"})
            assert response.status_code == 302
            assert response["Location"] == _url("detail", vn_comment.pk)
    assert mail.outbox == []  # replies are not mailed one by one

    _login(client, vn_delegate)
    page = client.get(_url("detail", vn_comment.pk)).content.decode()
    for number in (1, 2, 3):
        assert f"Agreed, point {number}." in page
    assert 'class="reply-body" lang="en"' in page

    # The notifications' e-mail (beat, every minute): one e-mail for the three replies.
    assert send_immediate() == 1
    assert send_immediate() == 0
    (digest,) = [m for m in mail.outbox if m.to == [vn_delegate.email]]
    assert digest.subject == "3 updates on the consultation platform"
    assert digest.body.count("replied to comment") == 3


def test_htmx_reply_returns_the_new_reply_with_its_language(client, vn_focal_point, vn_comment):
    _login(client, vn_focal_point)
    response = client.post(_url("reply", vn_comment.pk), {"body": "Đồng ý.", "language": "vi"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="reply-body" lang="vi">Đồng ý.</div>' in html
    assert "<html" not in html


def test_reply_to_a_comment_the_user_cannot_see_is_404_and_stores_nothing(client, th_delegate, vn_comment):
    _login(client, th_delegate)  # secretariat_only: Thailand cannot see Viet Nam's comments
    assert client.post(_url("reply", vn_comment.pk), {"body": "Let me in."}).status_code == 404
    assert client.post(_url("reply", vn_comment.pk), {"body": "Let me in."}, **HTMX).status_code == 404
    assert client.get(_url("detail", vn_comment.pk)).status_code == 404
    assert not Reply.objects.exists()


def test_comment_of_another_consultation_is_404_under_this_slug(client, outsider, other_consultation):
    version = factories.DraftVersionFactory(consultation=other_consultation, number="1.0")
    section = factories.SectionFactory(version=version, key="infra-5g", position=1)
    other_round = factories.EngagementRoundFactory(version=version)
    comment = _comment(outsider, other_round, section=section)
    _login(client, outsider)
    assert client.get(reverse("comments:detail", args=[other_consultation.slug, comment.pk])).status_code == 200
    assert client.get(_url("detail", comment.pk)).status_code == 404


def test_empty_reply_is_refused_with_a_message(client, vn_focal_point, vn_comment):
    _login(client, vn_focal_point)
    response = client.post(_url("reply", vn_comment.pk), {"body": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Reply.objects.exists()


# --- endorsement and national positions -----------------------------------------------------


def test_focal_point_endorses_with_a_plain_post_and_returns_to_next(client, vn_focal_point, vn_comment, open_round):
    _login(client, vn_focal_point)
    position_url = reverse("comments:position", args=[SLUG, open_round.pk])
    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1", "next": position_url})
    assert response.status_code == 302
    assert response["Location"] == position_url
    vn_comment.refresh_from_db()
    assert vn_comment.is_endorsed and vn_comment.endorsed_by == vn_focal_point


def test_an_offsite_next_is_ignored(client, vn_focal_point, vn_comment):
    _login(client, vn_focal_point)
    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1", "next": "https://evil.example/"})
    assert response["Location"] == _url("detail", vn_comment.pk)


def test_focal_point_endorses_and_unendorses_with_htmx(client, vn_focal_point, vn_comment):
    _login(client, vn_focal_point)
    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="comment-{vn_comment.pk}-actions"' in html
    assert "Remove from national position" in html
    vn_comment.refresh_from_db()
    assert vn_comment.is_endorsed

    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "0", "ui": "toggle"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="endorse-{vn_comment.pk}"' in html
    assert 'id="endorsed-count" hx-swap-oob="true">0<' in html
    vn_comment.refresh_from_db()
    assert not vn_comment.is_endorsed and vn_comment.endorsed_by is None


def test_plain_delegate_cannot_endorse(client, vn_delegate, vn_comment):
    _login(client, vn_delegate)
    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"})
    assert response.status_code == 403
    assert "focal point" in response.content.decode()
    response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"}, **HTMX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == f"#comment-{vn_comment.pk}-actions"
    vn_comment.refresh_from_db()
    assert not vn_comment.is_endorsed


def test_another_states_focal_point_cannot_see_the_comment_to_endorse_it(client, th_focal_point, vn_comment):
    _login(client, th_focal_point)
    assert client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"}).status_code == 404
    vn_comment.refresh_from_db()
    assert not vn_comment.is_endorsed


def test_submitting_the_national_position_needs_an_endorsed_comment(client, vn_focal_point, vn_comment, open_round):
    _login(client, vn_focal_point)
    url = reverse("comments:position", args=[SLUG, open_round.pk])
    response = client.post(url, {"note": "Our position."})
    assert response.status_code == 400
    assert "Endorse at least one submitted comment" in response.content.decode()
    assert not NationalPosition.objects.exists()

    client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"})
    response = client.post(url, {"note": "Our position."})
    assert response.status_code == 302
    position = NationalPosition.objects.get()
    assert (position.endorsed_count, position.note, position.submitted_by) == (1, "Our position.", vn_focal_point)
    page = client.get(url).content.decode()
    assert "Last submitted on" in page and vn_focal_point.get_full_name() in page
    assert vn_comment.number in page


def test_position_page_says_when_the_endorsements_changed_since_submission(
    client, vn_focal_point, vn_comment, open_round, clause
):
    _login(client, vn_focal_point)
    url = reverse("comments:position", args=[SLUG, open_round.pk])
    client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"})
    assert client.post(url, {"note": "Our position."}).status_code == 302
    assert "Submit the national position again" not in client.get(url).content.decode()

    another = factories.CommentFactory(
        round=open_round, section=clause, author=vn_focal_point, status=Comment.Status.SUBMITTED
    )
    client.post(_url("endorse", another.pk), {"endorsed": "1"})
    page = client.get(url).content.decode()
    assert "The endorsements have changed since the position was submitted (1 then, 2 now)." in page

    assert client.post(url, {"note": "Our position, again."}).status_code == 302
    assert "Submit the national position again" not in client.get(url).content.decode()


def test_position_page_access(client, personas, open_round, vn_comment):
    url = reverse("comments:position", args=[SLUG, open_round.pk])
    expected = {
        "vn_focal_point": 200,
        "vn_delegate": 403,
        "th_delegate": 403,
        "partner": 403,
        "consultant": 200,  # organisers read the overview of every position
        "outsider": 404,
        "secretariat": 200,
        "admin": 200,
    }
    for persona, status in expected.items():
        _login(client, personas[persona])
        assert client.get(url).status_code == status, persona


def test_secretariat_sees_every_member_states_position_status(
    client, secretariat, vn_focal_point, th_delegate, vn_comment, open_round
):
    services.comment_set_endorsed(actor=vn_focal_point, comment=vn_comment, endorsed=True)
    services.national_position_submit(actor=vn_focal_point, engagement_round=open_round, note="Covering note VN")
    _login(client, secretariat)
    url = reverse("comments:position", args=[SLUG, open_round.pk])
    page = client.get(url).content.decode()
    assert "Viet Nam" in page and "Thailand" in page
    assert "Covering note VN" in page and "Not submitted" in page
    assert client.post(url, {"note": "x"}).status_code == 403


# --- closed rounds ------------------------------------------------------------------------


def test_writes_after_the_round_closed_are_409_and_change_nothing(client, vn_focal_point, vn_comment, open_round):
    _login(client, vn_focal_point)
    after = open_round.closes_at + timedelta(minutes=1)
    with time_machine.travel(after, tick=False):
        response = client.post(_url("reply", vn_comment.pk), {"body": "Too late?"})
        assert response.status_code == 409
        assert "This round closed for your organisation" in response.content.decode()

        response = client.post(_url("reply", vn_comment.pk), {"body": "Too late?"}, **HTMX)
        assert response.status_code == 409
        assert "Nothing was saved." in response.content.decode()
        assert response["HX-Retarget"] == f"#comment-{vn_comment.pk}-actions"

        response = client.post(_url("endorse", vn_comment.pk), {"endorsed": "1"})
        assert response.status_code == 409

        url = reverse("comments:position", args=[SLUG, open_round.pk])
        response = client.post(url, {"note": "late"})
        assert response.status_code == 409
        assert "Nothing was saved." in response.content.decode()
    vn_comment.refresh_from_db()
    assert not vn_comment.is_endorsed
    assert not Reply.objects.exists()
    assert not NationalPosition.objects.exists()


# --- moderation ---------------------------------------------------------------------------


def test_flag_and_hide(client, secretariat, vn_delegate, th_delegate, live_round):
    comment = _comment(vn_delegate, live_round, body="Off-topic remark about football.")
    _login(client, th_delegate)
    assert client.get(_url("detail", comment.pk)).status_code == 200  # live: other delegations see it

    response = client.post(_url("flag", comment.pk), {"reason": ""})
    assert response.status_code == 400
    assert not CommentFlag.objects.exists()
    response = client.post(_url("flag", comment.pk), {"reason": "Not about the draft."}, **HTMX)
    assert response.status_code == 200
    assert "The secretariat will look at this comment." in response.content.decode()
    assert CommentFlag.objects.get().flagged_by == th_delegate
    assert client.post(_url("hide", comment.pk), {"reason": "Mine now"}).status_code == 403

    _login(client, secretariat)
    assert "Not about the draft." in client.get(_url("detail", comment.pk)).content.decode()
    response = client.post(_url("hide", comment.pk), {"reason": ""})
    assert response.status_code == 400
    comment.refresh_from_db()
    assert not comment.is_hidden
    response = client.post(_url("hide", comment.pk), {"reason": "Outside the scope of the draft."})
    assert response.status_code == 302
    page = client.get(_url("detail", comment.pk)).content.decode()
    assert "Hidden by the secretariat" in page and "Outside the scope of the draft." in page
    assert "Unhide" in page
    assert "resolved" in page  # the flag was resolved by hiding

    _login(client, th_delegate)
    assert client.get(_url("detail", comment.pk)).status_code == 404

    _login(client, vn_delegate)
    page = client.get(_url("detail", comment.pk)).content.decode()
    assert "Outside the scope of the draft." in page

    _login(client, secretariat)
    assert client.post(_url("unhide", comment.pk)).status_code == 302
    _login(client, th_delegate)
    assert client.get(_url("detail", comment.pk)).status_code == 200


# --- history ------------------------------------------------------------------------------


def test_history_is_shown_to_the_secretariat_only(client, secretariat, vn_delegate, th_delegate, live_round):
    comment = services.comment_create(
        actor=vn_delegate,
        engagement_round=live_round,
        section=Section.objects.get(version=live_round.version, key="infra-5g"),
        comment_type="te",
        body="First wording of the comment.",
        submit=True,
    )
    services.comment_update(actor=vn_delegate, comment=comment, comment_type="te", body="Second wording.")

    _login(client, secretariat)
    page = client.get(_url("detail", comment.pk)).content.decode()
    assert "History" in page and "First wording of the comment." in page

    for viewer in (th_delegate, vn_delegate):
        _login(client, viewer)
        page = client.get(_url("detail", comment.pk)).content.decode()
        assert "Second wording." in page
        assert "First wording of the comment." not in page
        assert 'id="history-heading"' not in page


# --- my delegation's comments -------------------------------------------------------------


def test_delegation_page_shows_my_organisation_only_and_filters(
    client, vn_delegate, vn_focal_point, th_delegate, open_round
):
    vn_draft = _comment(vn_delegate, open_round, body="VN draft about spectrum.", status="draft", type="te")
    vn_sent = _comment(vn_focal_point, open_round, body="VN submitted about towers.", is_endorsed=True)
    th_sent = _comment(th_delegate, open_round, body="TH submitted about fibre.")
    _login(client, vn_delegate)
    url = _url("mine")

    page = client.get(url).content.decode()
    assert vn_draft.body in page and vn_sent.body in page
    assert th_sent.body not in page

    def shown(params):
        html = client.get(url, params).content.decode()
        return {c.body for c in (vn_draft, vn_sent) if c.body in html}

    assert shown({"status": "draft"}) == {vn_draft.body}
    assert shown({"type": "te"}) == {vn_draft.body}
    assert shown({"endorsed": "yes"}) == {vn_sent.body}
    assert shown({"endorsed": "no"}) == {vn_draft.body}
    assert shown({"q": "towers"}) == {vn_sent.body}
    assert shown({"round": open_round.pk}) == {vn_draft.body, vn_sent.body}
    assert shown({"q": "fibre"}) == set()  # another delegation's text is never searched


def test_delegation_pagination_keeps_the_filters(client, vn_delegate, open_round):
    Comment.objects.bulk_create(
        [
            Comment(
                round=open_round,
                section=Section.objects.get(version=open_round.version, key="infra-5g"),
                author=vn_delegate,
                organisation=vn_delegate.organisation,
                body=f"Draft {n}",
                status="draft",
            )
            for n in range(30)
        ]
    )
    _login(client, vn_delegate)
    page = client.get(_url("mine"), {"status": "draft"}).content.decode()
    assert "status=draft&amp;page=2" in page


def test_delegation_page_is_404_for_a_non_participant(client, outsider, site_admin):
    for user in (outsider, site_admin):
        _login(client, user)
        assert client.get(_url("mine")).status_code == 404


# --- query counts -------------------------------------------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _add_replies(comment, author, count):
    Reply.objects.bulk_create(
        [Reply(comment=comment, author=author, organisation=author.organisation, body=f"r{n}") for n in range(count)]
    )


@pytest.mark.parametrize("viewer", ["vn_delegate", "secretariat"])
def test_comment_detail_query_count_does_not_grow_with_the_thread(
    client, personas, vn_comment, django_assert_num_queries, viewer, open_round
):
    small = vn_comment
    large = _comment(personas["vn_delegate"], open_round)
    _add_replies(small, personas["vn_focal_point"], 5)
    _add_replies(large, personas["vn_focal_point"], 100)
    _login(client, personas[viewer])
    expected = _count_queries(client, _url("detail", small.pk))
    with django_assert_num_queries(expected):
        response = client.get(_url("detail", large.pk))
    assert response.content.decode().count('class="reply"') == 20
    assert "Load more replies" in response.content.decode()


def test_delegation_page_query_count_does_not_grow_with_the_list(
    client, vn_delegate, vn_focal_point, open_round, django_assert_num_queries
):
    section = Section.objects.get(version=open_round.version, key="infra-5g")

    def make(count):
        comments = Comment.objects.bulk_create(
            [
                Comment(
                    round=open_round,
                    section=section,
                    author=vn_delegate,
                    organisation=vn_delegate.organisation,
                    body=f"c{n}",
                    status="submitted",
                    is_endorsed=n % 2 == 0,
                    endorsed_by=vn_focal_point if n % 2 == 0 else None,
                )
                for n in range(count)
            ]
        )
        for comment in comments:
            _add_replies(comment, vn_focal_point, 2)

    make(5)
    _login(client, vn_delegate)
    expected = _count_queries(client, _url("mine") + "?status=submitted")
    make(55)
    with django_assert_num_queries(expected):
        response = client.get(_url("mine") + "?status=submitted")
    assert response.content.decode().count("<tr>") == 26  # header + 25 a page


# --- partials included by the section page's comment card ---------------------------------


def test_replies_preview_shows_the_first_replies_and_links_to_the_thread(
    consultation, vn_delegate, vn_comment, open_round
):
    _add_replies(vn_comment, vn_delegate, 5)
    (card,) = selectors.section_comments(user=vn_delegate, engagement_round=open_round, section=vn_comment.section)
    html = render_to_string("comments/thread/_replies_preview.html", {"card": card, "consultation": consultation})
    assert html.count('class="reply"') == 3
    assert "Show all 5 replies" in html
    assert f'hx-get="{_url("replies", vn_comment.pk)}?page=1"' in html


def test_card_actions_follow_the_role_and_the_round(rf, consultation, personas, vn_comment, open_round):
    def actions(persona):
        request = rf.get("/")
        request.user = personas[persona]
        comment = Comment.objects.select_related("round__consultation").get(pk=vn_comment.pk)
        context = {"comment": comment, "consultation": consultation}
        return render_to_string("comments/thread/_actions.html", context, request=request)

    assert "Endorse into national position" in actions("vn_focal_point")
    assert "Endorse into national position" not in actions("vn_delegate")
    assert "Hide with reason" in actions("secretariat")
    assert "Hide with reason" not in actions("vn_focal_point")
    assert "Post reply" in actions("vn_delegate")
    open_round.state = EngagementRound.State.CLOSED
    open_round.save()
    closed = actions("vn_focal_point")
    assert "Post reply" not in closed and "Endorse into national position" not in closed


def test_overview_links_offer_the_position_to_the_focal_point_only(rf, consultation, personas, open_round):
    from consultations import selectors as consultation_selectors
    from consultations.views.reading import _round_rows

    def links(persona):
        request = rf.get("/")
        request.user = personas[persona]
        rows = _round_rows(
            request, consultation, consultation_selectors.rounds_for_consultation(consultation=consultation)
        )
        participation = consultation_selectors.participation(user=request.user, consultation=consultation)
        context = {"consultation": consultation, "rounds": rows, "participation": participation}
        return render_to_string("comments/thread/_overview_links.html", context, request=request)

    position_url = reverse("comments:position", args=[SLUG, open_round.pk])
    assert position_url in links("vn_focal_point") and _url("mine") in links("vn_focal_point")
    assert position_url not in links("vn_delegate") and _url("mine") in links("vn_delegate")
    assert "National positions:" in links("secretariat")
