"""Suggestion mode: a proposed change that is an edit of the quoted passage, shown as a redline in place."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from comments import services
from comments.models import Comment
from comments.services import AnchorInput
from comments.templatetags.comment_tags import suggested_edit
from tests import factories

PASSAGE = "all urban areas by 2028"  # in FIVE_G: "Member states will extend 5G coverage to all urban areas by 2028."
START = len("Member states will extend 5G coverage to ")
EDITED = "all urban and rural areas by 2030"


def suggest(actor, engagement_round, section, *, proposed=EDITED, anchor=True, **fields):
    return services.comment_create(
        actor=actor,
        engagement_round=engagement_round,
        section=section,
        comment_type=Comment.Type.EDITORIAL,
        body="Rural areas too, and a realistic year.",
        proposed_change=proposed,
        anchor=AnchorInput(exact=PASSAGE, start=START, end=START + len(PASSAGE)) if anchor else None,
        is_suggestion=True,
        **fields,
    )


# --- service ------------------------------------------------------------------------------


def test_a_suggested_edit_keeps_the_passage_and_the_full_proposed_text(open_round, clause, vn_delegate):
    comment = suggest(vn_delegate, open_round, clause)

    comment.refresh_from_db()
    assert (comment.is_suggestion, comment.quote_exact, comment.proposed_change) == (True, PASSAGE, EDITED)


def test_a_suggestion_needs_a_passage(open_round, clause, vn_delegate):
    with pytest.raises(ValidationError) as refused:
        suggest(vn_delegate, open_round, clause, anchor=False)

    assert "is_suggestion" in refused.value.error_dict
    assert not Comment.objects.exists()


@pytest.mark.parametrize("proposed", ["", "  ", PASSAGE, f" {PASSAGE} "])
def test_a_suggestion_must_change_the_passage(open_round, clause, vn_delegate, proposed):
    with pytest.raises(ValidationError) as refused:
        suggest(vn_delegate, open_round, clause, proposed=proposed)

    assert "proposed_change" in refused.value.error_dict
    assert not Comment.objects.exists()


def test_an_edit_keeps_the_mode_unless_told_and_refuses_dropping_the_passage(open_round, clause, vn_delegate):
    comment = suggest(vn_delegate, open_round, clause)

    kept = services.comment_update(
        actor=vn_delegate, comment=comment, comment_type="ed", body="Shorter.", proposed_change=EDITED, keep_anchor=True
    )
    assert kept.is_suggestion
    with pytest.raises(ValidationError):
        services.comment_update(
            actor=vn_delegate, comment=comment, comment_type="ed", body="Shorter.", proposed_change=EDITED, anchor=None
        )
    plain = services.comment_update(
        actor=vn_delegate,
        comment=comment,
        comment_type="ed",
        body="Shorter.",
        proposed_change="Add a clause on rural areas.",
        anchor=None,
        is_suggestion=False,
    )
    assert (plain.is_suggestion, plain.quote_exact) == (False, "")


# --- rendering ----------------------------------------------------------------------------


def test_the_redline_strikes_deletions_and_underlines_insertions_with_spoken_labels(open_round, clause, vn_delegate):
    html = str(suggested_edit(suggest(vn_delegate, open_round, clause)))

    close = '<span class="visually-hidden">]</span>'
    assert f'<ins><span class="visually-hidden">[inserted:</span>and rural {close}</ins>' in html
    assert f'<del><span class="visually-hidden">[deleted:</span>2028{close}</del>' in html
    assert f'<ins><span class="visually-hidden">[inserted:</span>2030{close}</ins>' in html
    assert html.startswith("all urban ")


def test_an_ordinary_proposed_change_is_no_redline(open_round, clause, vn_delegate):
    comment = factories.CommentFactory(
        round=open_round, section=clause, author=vn_delegate, quote_exact=PASSAGE, proposed_change=EDITED
    )

    assert suggested_edit(comment) == ""


def test_the_redline_escapes_the_text(open_round, clause, vn_delegate):
    comment = factories.CommentFactory(
        round=open_round,
        section=clause,
        author=vn_delegate,
        quote_exact="a <b>",
        proposed_change="a <script>",
        is_suggestion=True,
    )

    html = str(suggested_edit(comment))
    assert "<script" not in html and "<b>" not in html
    assert html.startswith("a &lt;") and html.endswith("&gt;")


# --- pages and API ------------------------------------------------------------------------


def test_the_section_page_offers_the_mode_and_shows_the_edit_in_place(client, open_round, clause, vn_delegate):
    url = reverse("comments:section", args=[open_round.consultation.slug, clause.version.number, clause.key])
    client.force_login(vn_delegate)
    assert 'name="is_suggestion"' in client.get(url).content.decode()

    response = client.post(
        reverse("comments:create", args=[open_round.consultation.slug, open_round.pk, clause.key]),
        {
            "type": "ed",
            "body": "Rural areas too.",
            "proposed_change": EDITED,
            "is_suggestion": "on",
            "quote_exact": PASSAGE,
            "position_start": START,
            "position_end": START + len(PASSAGE),
            "action": "draft",
        },
    )

    assert response.status_code in (200, 302)
    assert Comment.objects.get().is_suggestion
    page = client.get(url).content.decode()
    assert "Suggested edit of the passage" in page
    assert "<del>" in page and "<ins>" in page


def test_the_consolidated_feedback_shows_a_suggested_edit_as_a_redline(
    client, open_round, clause, vn_delegate, secretariat
):
    comment = suggest(vn_delegate, open_round, clause)
    services.comment_submit(actor=vn_delegate, comment=comment)
    url = reverse("consolidation:feedback", args=[open_round.consultation.slug, open_round.pk])
    client.force_login(secretariat)

    page = client.get(url).content.decode()

    row = page[page.index(f'id="fb-comment-{comment.pk}"') :]
    row = row[: row.index("</article>")]
    assert "Suggested edit of the passage:" in row
    assert '<del><span class="visually-hidden">[deleted:</span>2028' in row
    assert '<ins><span class="visually-hidden">[inserted:</span>2030' in row


def test_the_page_refuses_a_suggestion_without_a_passage_with_400(client, open_round, clause, vn_delegate):
    client.force_login(vn_delegate)

    response = client.post(
        reverse("comments:create", args=[open_round.consultation.slug, open_round.pk, clause.key]),
        {"type": "ed", "body": "Rural too.", "proposed_change": EDITED, "is_suggestion": "on", "action": "draft"},
    )

    assert response.status_code == 400
    assert "A suggested edit needs a selected passage to edit." in response.content.decode()
    assert not Comment.objects.exists()


def test_the_api_writes_and_reads_the_mode(client, open_round, clause, vn_delegate):
    client.force_login(vn_delegate)
    response = client.post(
        reverse("api:round-comments", args=[open_round.pk]),
        data=json.dumps(
            {
                "section": clause.key,
                "type": "ed",
                "body": "Rural too.",
                "proposed_change": EDITED,
                "is_suggestion": True,
                "target": {
                    "source": clause.key,
                    "selector": [
                        {"type": "TextQuoteSelector", "exact": PASSAGE},
                        {"type": "TextPositionSelector", "start": START, "end": START + len(PASSAGE)},
                    ],
                },
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["is_suggestion"] is True
    assert Comment.objects.get().is_suggestion
