"""Suggesting text in a real browser: select a passage, suggest an edit of it, read it back as a redline."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from comments.models import Comment
from consultations.models import EngagementRound
from tests import factories

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BODY = (
    "Member states will extend 5G coverage to all urban areas by 2028. Spectrum will be assigned in harmonised bands."
)
PASSAGE = "Spectrum will be assigned in harmonised bands"


@pytest.fixture
def section(consultation):
    version = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    section = factories.SectionFactory(
        version=version, key="mobile", number="1.1.1", heading="Next-generation mobile networks", body=BODY
    )
    factories.EngagementRoundFactory(version=version, title="Second round", state=EngagementRound.State.OPEN)
    return section


def test_a_delegate_suggests_an_edit_of_the_passage_and_reads_it_as_a_redline(browser_page, section, vn_delegate):
    page = browser_page
    log_in(page, "vn.delegate@example.org")
    page.goto(reverse("comments:section", args=[section.version.consultation.slug, "0.2", "mobile"]))

    # Select the second sentence's words with the mouse.
    box = page.evaluate(
        """(passage) => {
            const node = document.querySelector('#section-text p').firstChild;
            const start = node.textContent.indexOf(passage);
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + 1);
            const first = range.getBoundingClientRect();
            range.setStart(node, start + passage.length - 1); range.setEnd(node, start + passage.length);
            const last = range.getBoundingClientRect();
            return {x1: first.left + 1, y1: first.top + first.height / 2,
                    x2: last.right, y2: last.top + last.height / 2};
        }""",
        PASSAGE,
    )
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Comment on this passage").click()

    form = page.locator("#comment-form")
    form.get_by_label("Suggest an edit of the selected passage").check()
    proposed = form.locator("textarea[name=proposed_change]")
    expect(proposed).to_have_value(PASSAGE)  # the passage, ready to edit
    expect(proposed).to_be_focused()
    proposed.fill("Spectrum will be assigned in regional bands")
    form.get_by_label("Editorial").check()
    form.locator("textarea[name=body]").fill("Harmonised is too strong for 2028.")
    form.get_by_role("button", name="Submit").click()

    card = page.locator(".comment-card").filter(has_text="Harmonised is too strong")
    expect(card.locator(".suggested-edit del")).to_contain_text("harmonised")
    expect(card.locator(".suggested-edit ins")).to_contain_text("regional")
    comment = Comment.objects.get()
    assert (comment.is_suggestion, comment.quote_exact) == (True, PASSAGE)

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in serious)
