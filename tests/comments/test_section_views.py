"""Writing comments on a section page: plain form posts, anchors, refusals, and the page itself."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape

from comments.models import Comment
from comments.selectors import SECTION_PAGE_SIZE
from consultations.models import EngagementRound
from consultations.services import round_extend
from tests import factories
from tests.helpers.drafts import FIVE_G
from tests.helpers.section_pages import SLUG
from tests.helpers.section_pages import add_comments as _add_comments
from tests.helpers.section_pages import anchor as _anchor
from tests.helpers.section_pages import create_url as _create_url
from tests.helpers.section_pages import section_url as _section_url

pytestmark = pytest.mark.django_db

BODY = FIVE_G


def _post(client, engagement_round, key="infra-5g", action="draft", **fields):
    data = {"type": "te", "body": "Add rural areas.", "proposed_change": "", "language": "en", "action": action}
    data.update(fields)
    return client.post(_create_url(engagement_round, key), data)


def _comment(engagement_round, author, org, **fields):
    section = engagement_round.version.sections.get(key="infra-5g")
    defaults = {"type": "ge", "body": "A comment.", "status": Comment.Status.SUBMITTED}
    return Comment.objects.create(
        round=engagement_round, section=section, author=author, organisation=org, **{**defaults, **fields}
    )


# --- writing without JavaScript -----------------------------------------------------------


def test_delegate_saves_a_draft_then_submits_it_with_plain_form_posts(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    response = _post(client, open_round, action="draft", body="Extend coverage to rural areas too.")

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{_section_url()}#comment-{comment.pk}"
    assert comment.status == Comment.Status.DRAFT
    assert comment.author == vn_delegate and comment.type == "te" and comment.position_start is None
    page = client.get(response["Location"]).content.decode()
    assert f'id="comment-{comment.pk}"' in page
    assert "Extend coverage to rural areas too." in page
    assert "was saved as a draft" in page

    response = client.post(reverse("comments:submit", args=[SLUG, comment.pk]), {"revision": comment.revision})

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.SUBMITTED and comment.submitted_at is not None


def test_submit_button_on_the_new_comment_form_submits_at_once(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    _post(client, open_round, action="submit")

    assert Comment.objects.get().status == Comment.Status.SUBMITTED


def test_author_edits_a_draft_on_the_edit_page_without_javascript(client, vn_delegate, open_round, orgs):
    comment = _comment(open_round, vn_delegate, orgs["vn"], status=Comment.Status.DRAFT, **_anchor("5G coverage"))
    client.force_login(vn_delegate)
    url = reverse("comments:edit", args=[SLUG, comment.pk])

    page = client.get(url)
    form = {**_anchor("5G coverage"), "type": "ed", "body": "Typo: coverage.", "language": "en"}
    response = client.post(url, {**form, "revision": comment.revision, "action": "draft"})

    assert page.status_code == 200 and "Typo" not in page.content.decode()
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.type, comment.body, comment.status) == ("ed", "Typo: coverage.", Comment.Status.DRAFT)
    assert comment.quote_exact == "5G coverage" and comment.revision == 2


def test_withdraw_is_post_only(client, vn_delegate, open_round, orgs):
    comment = _comment(open_round, vn_delegate, orgs["vn"])
    client.force_login(vn_delegate)
    url = reverse("comments:withdraw", args=[SLUG, comment.pk])

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.WITHDRAWN


def test_htmx_create_returns_the_new_card_and_a_fresh_form(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    response = client.post(
        _create_url(open_round),
        {"type": "ge", "body": "Via htmx.", "language": "en", "action": "draft", **_anchor("urban areas")},
        HTTP_HX_REQUEST="true",
    )

    comment = Comment.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<article") and f'id="comment-{comment.pk}"' in html
    assert 'id="comment-form" hx-swap-oob="true"' in html
    assert f'id="anchor-{comment.pk}">urban areas</mark>' in html  # the text, swapped out of band


# --- anchors ------------------------------------------------------------------------------


def test_anchored_comment_is_stored_at_the_positions_the_server_verified(client, vn_delegate, open_round):
    client.force_login(vn_delegate)
    start = BODY.index("5G coverage")
    # The browser's offsets are a little off (e.g. the rendered text trimmed a space): the quote decides.
    anchor = {**_anchor("5G coverage"), "position_start": start + 3, "position_end": start + 14}

    response = _post(client, open_round, **anchor)

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert (comment.position_start, comment.position_end) == (start, start + len("5G coverage"))
    assert comment.quote_exact == "5G coverage"
    assert comment.quote_prefix == BODY[:start] and comment.quote_suffix == BODY[start + 11 : start + 43]
    page = client.get(_section_url()).content.decode()
    assert f'<mark class="anchor" data-comments="{comment.pk}" id="anchor-{comment.pk}">5G coverage</mark>' in page


def test_forged_anchor_is_refused_with_the_message_and_nothing_is_stored(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    response = _post(client, open_round, **_anchor("coverage of the moon", start=10, end=30))

    assert response.status_code == 400
    assert "was not found in this section" in response.content.decode()
    assert "coverage of the moon" in response.content.decode()  # what they selected is shown again
    assert not Comment.objects.exists()


def test_anchor_outside_the_text_is_refused(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    response = _post(client, open_round, **_anchor("2028", start=len(BODY) + 5, end=len(BODY) + 9))

    assert response.status_code == 400
    assert "outside the section text" in response.content.decode()
    assert not Comment.objects.exists()


# --- scope --------------------------------------------------------------------------------


def test_comment_on_a_section_outside_the_round_version_is_404(client, vn_delegate, open_round, consultation):
    next_version = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    factories.SectionFactory(version=next_version, key="only-in-0-2", position=1)
    closed = factories.EngagementRoundFactory(
        version=next_version,
        state=EngagementRound.State.CLOSED,
        opens_at=timezone.now() - timedelta(days=9),
        closes_at=timezone.now() - timedelta(days=2),
    )
    other_round = factories.EngagementRoundFactory()  # in another consultation
    client.force_login(vn_delegate)

    assert _post(client, open_round, key="only-in-0-2").status_code == 404
    assert _post(client, closed, key="infra-5g").status_code == 404
    assert _post(client, other_round, key="infra-5g").status_code == 404
    assert not Comment.objects.exists()


def test_outsider_cannot_post_to_a_consultation_they_do_not_take_part_in(client, outsider, open_round):
    client.force_login(outsider)

    assert _post(client, open_round).status_code == 404
    assert not Comment.objects.exists()


def test_role_that_does_not_comment_in_the_round_gets_403(client, secretariat, open_round):
    client.force_login(secretariat)

    assert _post(client, open_round).status_code == 403
    assert not Comment.objects.exists()


def test_posting_to_a_closed_round_is_409_with_the_closing_date_and_nothing_is_stored(client, vn_delegate, open_round):
    open_round.closes_at = open_round.final_closes_at = timezone.now() - timedelta(hours=1)
    open_round.save()
    client.force_login(vn_delegate)

    response = _post(client, open_round, body="Too late.")

    when = date_format(timezone.localtime(open_round.closes_at), "DATETIME_FORMAT")
    assert response.status_code == 409
    assert f"This round closed for your organisation ({when})" in response.content.decode()
    assert "Too late." in response.content.decode()  # the text is kept, to copy elsewhere
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [(EngagementRound.Visibility.SECRETARIAT_ONLY, 404), (EngagementRound.Visibility.LIVE, 403)],
)
def test_delegate_of_another_state_cannot_edit_my_comment(
    client, vn_delegate, th_delegate, open_round, orgs, visibility, expected
):
    open_round.visibility = visibility
    open_round.save()
    comment = _comment(open_round, vn_delegate, orgs["vn"], body="Viet Nam's view.")
    client.force_login(th_delegate)
    edit = reverse("comments:edit", args=[SLUG, comment.pk])

    assert client.get(edit).status_code == expected
    assert client.post(edit, {"type": "ge", "body": "Hijacked.", "revision": 1}).status_code == expected
    assert client.post(reverse("comments:withdraw", args=[SLUG, comment.pk])).status_code == expected
    comment.refresh_from_db()
    assert comment.body == "Viet Nam's view." and comment.status == Comment.Status.SUBMITTED


def test_comment_id_under_another_consultation_slug_is_404(client, vn_delegate, open_round, orgs, outsider):
    comment = _comment(open_round, vn_delegate, orgs["vn"])
    client.force_login(vn_delegate)

    assert client.get(reverse("comments:edit", args=["other-strategy", comment.pk])).status_code == 404


# --- limits -------------------------------------------------------------------------------


def test_31st_comment_in_a_minute_is_429_with_retry_after(client, vn_delegate, open_round, settings):
    assert settings.COMMENT_RATE_PER_MINUTE == 30
    client.force_login(vn_delegate)
    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        for n in range(30):
            assert _post(client, open_round, body=f"Comment {n}").status_code == 302

        response = _post(client, open_round, body="One too many.")

    assert response.status_code == 429
    # All 30 were written in the same second: the oldest leaves the 60-second window in 60 s.
    assert response["Retry-After"] == "60"
    assert "Please wait 60 seconds" in response.content.decode()
    assert Comment.objects.count() == 30


def test_body_over_10000_characters_is_400_and_nothing_is_stored(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    response = _post(client, open_round, body="x" * 10_001)

    assert response.status_code == 400
    assert "at most 10,000 characters; this one has 10,001" in response.content.decode()
    assert not Comment.objects.exists()


def test_body_of_exactly_10000_characters_is_accepted(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    assert _post(client, open_round, body="x" * 10_000).status_code == 302


# --- what the page shows ------------------------------------------------------------------

TEXTS = {
    "vi": 'Đề nghị bổ sung "vùng sâu, vùng xa" vào mục tiêu phủ sóng 5G.',
    "th": "ควรเพิ่มพื้นที่ชนบทในเป้าหมายการขยายเครือข่าย 5G",
    "ar": "نقترح إضافة المناطق الريفية إلى هدف تغطية شبكات الجيل الخامس.",
    "en": "Rural areas too 🚀🌏 — please 👍🏽",
}


def test_vietnamese_thai_arabic_and_emoji_round_trip_intact(client, vn_delegate, open_round, version):
    section = version.sections.get(key="infra-5g")
    section.body = "🌏 Mục tiêu: phủ sóng 5G toàn bộ đô thị.\n\nเป้าหมาย 5G 🚀 ในเมือง"
    section.save()
    client.force_login(vn_delegate)

    for language, text in TEXTS.items():
        anchor = _anchor("phủ sóng 5G", body=section.body) if language == "vi" else {}
        assert _post(client, open_round, body=text, language=language, **anchor).status_code == 302

    page = client.get(_section_url()).content.decode()
    for language, text in TEXTS.items():
        stored = Comment.objects.get(language=language)
        assert stored.body == text
        assert f'<div class="comment-body" lang="{language}"><p>{escape(text)}</p></div>' in page
    vi = Comment.objects.get(language="vi")
    assert vi.position_start == 12  # after one emoji: code points, as the browser counts them
    assert f'id="anchor-{vi.pk}">phủ sóng 5G</mark> toàn bộ đô thị.' in page
    assert "เป้าหมาย 5G 🚀 ในเมือง" in page


def test_page_offers_the_form_to_a_delegate_in_an_open_round(client, vn_delegate, open_round):
    client.force_login(vn_delegate)

    page = client.get(_section_url()).content.decode()

    assert 'id="comment-form"' in page
    assert 'name="quote_exact"' in page and 'maxlength="10000"' in page
    assert 'value="draft"' in page and 'value="submit"' in page
    assert '<p data-offset="0">Member states' in page
    assert 'id="section-body-data"' in page


def test_page_says_why_there_is_no_form(client, vn_delegate, secretariat, open_round):
    client.force_login(secretariat)
    assert "Your role does not comment in this round." in client.get(_section_url()).content.decode()

    open_round.closes_at = open_round.final_closes_at = timezone.now() - timedelta(hours=2)
    open_round.save()
    client.force_login(vn_delegate)
    page = client.get(_section_url()).content.decode()

    when = date_format(timezone.localtime(open_round.closes_at), "DATETIME_FORMAT")
    assert 'id="comment-form"' not in page
    assert f"This round closed for your organisation ({when})." in page


def test_page_says_when_a_scheduled_round_opens(client, vn_delegate, version):
    factories.EngagementRoundFactory(
        version=version,
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=2),
        closes_at=timezone.now() + timedelta(days=9),
    )
    client.force_login(vn_delegate)

    page = client.get(_section_url()).content.decode()

    assert "This round is not open yet." in page and 'id="comment-form"' not in page


def test_card_shows_badges_quote_and_hidden_reason_to_those_who_see_it(client, vn_delegate, open_round, orgs):
    comment = _comment(
        open_round,
        vn_delegate,
        orgs["vn"],
        is_endorsed=True,
        is_hidden=True,
        hidden_reason="Off topic",
        proposed_change="Say 'all areas'.",
        **_anchor("urban areas"),
    )
    client.force_login(vn_delegate)

    page = client.get(_section_url()).content.decode()

    assert f'id="comment-{comment.pk}"' in page
    assert "National position" in page and "Submitted" in page
    assert "Hidden by the secretariat: Off topic" in page
    assert f'href="#anchor-{comment.pk}"' in page
    assert "Say &#x27;all areas&#x27;." in page


# --- query count --------------------------------------------------------------------------


def test_section_page_issues_the_same_number_of_queries_for_10_and_1000_comments(
    client, vn_delegate, vn_focal_point, open_round, orgs, django_assert_num_queries
):
    client.force_login(vn_delegate)
    _add_comments(open_round, vn_focal_point, orgs["vn"], 10)
    with CaptureQueriesContext(connection) as small:
        small_page = client.get(_section_url())
        assert small_page.status_code == 200

    _add_comments(open_round, vn_focal_point, orgs["vn"], 990)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(_section_url())

    # One page of comments, never all of them: the page's size does not grow with the section.
    html = response.content.decode()
    assert html.count('class="comment-card') == SECTION_PAGE_SIZE
    assert "data-comment-count>1000<" in html
    assert len(response.content) < 300_000
    assert len(response.content) < 1.5 * len(small_page.content)


def test_section_page_shows_one_page_of_comments_with_filter_and_counts(
    client, vn_delegate, vn_focal_point, th_delegate, open_round, orgs
):
    open_round.visibility = EngagementRound.Visibility.LIVE
    open_round.save()
    _add_comments(open_round, vn_focal_point, orgs["vn"], 25)  # 12 submitted, 13 drafts
    _comment(open_round, th_delegate, orgs["th"], type="ed", body="From Thailand.")
    client.force_login(vn_delegate)

    first = client.get(_section_url()).content.decode()
    third = client.get(_section_url() + "?page=3").content.decode()
    own = client.get(_section_url() + "?scope=own&status=submitted").content.decode()
    editorial = client.get(_section_url() + "?type=ed").content.decode()

    assert first.count('class="comment-card') == SECTION_PAGE_SIZE
    assert "data-comment-count>26<" in first and "Page 1 of 3" in first and 'rel="next" href="?page=2"' in first
    assert third.count('class="comment-card') == 6 and "Page 3 of 3" in third and 'rel="prev"' in third
    assert own.count('class="comment-card') == SECTION_PAGE_SIZE and "From Thailand." not in own
    assert 'href="?scope=own&amp;status=submitted&amp;page=2"' in own
    assert editorial.count('class="comment-card') == 1 and "From Thailand." in editorial
    # The text highlights the passages of the comments shown, not of every comment.
    shown = len(re.findall(r'id="comment-\d+"', first))
    assert len(set(re.findall(r'data-comments="([\d ]+)"', first))) <= shown


def test_htmx_page_link_answers_with_the_window_counts_and_text(client, vn_delegate, vn_focal_point, open_round, orgs):
    _add_comments(open_round, vn_focal_point, orgs["vn"], 15)
    client.force_login(vn_delegate)

    response = client.get(_section_url() + "?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="comment-window")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="comment-window"')
    assert html.count('class="comment-card') == 5
    assert 'id="comment-counts" class="comment-counts" hx-swap-oob="true"' in html
    assert 'id="section-text" class="section-body section-text" hx-swap-oob="true"' in html
    assert "<html" not in html


def _htmx_writes(client, engagement_round, comment):
    """An htmx create, edit, submit and withdraw: each response's size in bytes."""
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver" + _section_url()}
    created = client.post(
        _create_url(engagement_round),
        {"type": "ge", "body": "Via htmx.", "language": "en", "action": "draft", **_anchor("urban areas")},
        **htmx,
    )
    edit = {"type": "te", "body": "Edited.", "language": "en", "revision": comment.revision, "action": "draft"}
    edited = client.post(reverse("comments:edit", args=[SLUG, comment.pk]), edit, **htmx)
    comment.refresh_from_db()
    submitted = client.post(reverse("comments:submit", args=[SLUG, comment.pk]), {"revision": comment.revision}, **htmx)
    comment.refresh_from_db()
    withdrawn = client.post(
        reverse("comments:withdraw", args=[SLUG, comment.pk]), {"revision": comment.revision}, **htmx
    )
    responses = {"create": created, "edit": edited, "submit": submitted, "withdraw": withdrawn}
    for name, response in responses.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert html.count('class="comment-card') == 1, name  # the one card it changed, never the list
    return {name: len(response.content) for name, response in responses.items()}


def test_htmx_writes_answer_with_one_card_whatever_the_section_holds(
    client, vn_delegate, vn_focal_point, open_round, orgs
):
    client.force_login(vn_delegate)
    _add_comments(open_round, vn_focal_point, orgs["vn"], 10)
    small = _htmx_writes(client, open_round, _comment(open_round, vn_delegate, orgs["vn"], status="draft"))

    _add_comments(open_round, vn_focal_point, orgs["vn"], 990)
    large = _htmx_writes(client, open_round, _comment(open_round, vn_delegate, orgs["vn"], status="draft"))

    for name in small:
        # The card, and on create/edit/withdraw the text (one window's highlights) and counts.
        assert large[name] < 1.2 * small[name] + 200, (name, small, large)
        assert large[name] < 20_000, (name, large)


def test_after_the_close_only_the_delegation_with_an_extension_writes_from_the_page(
    client, make_round, orgs, secretariat, vn_delegate, th_delegate
):
    """The page's write reads the round and the writer's own extension once, with the section
    (comments.selectors.writing_target_for_user), and the service decides on that read."""
    closes = timezone.now() + timedelta(hours=1)
    engagement_round = make_round(opens_at=closes - timedelta(days=7), closes_at=closes, final_closes_at=closes)
    extended = closes + timedelta(days=1)
    round_extend(actor=secretariat, engagement_round=engagement_round, organisation=orgs["vn"], closes_at=extended)
    data = {"type": "te", "language": "en", "action": "submit"}

    with time_machine.travel(closes + timedelta(hours=2), tick=False):
        client.force_login(vn_delegate)
        assert client.post(_create_url(engagement_round), {**data, "body": "Within our extension."}).status_code == 302
        client.force_login(th_delegate)
        refused = client.post(_create_url(engagement_round), {**data, "body": "Too late."})

    assert refused.status_code == 409
    assert list(Comment.objects.values_list("body", flat=True)) == ["Within our extension."]
