"""Finding your way in a real browser: counts in the contents, the search box, results with marks; axe."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from consultations.models import EngagementRound
from tests import factories

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = "Quy hoạch hạ tầng số quốc gia đến năm 2030 phải có mục tiêu cho nông thôn."


@pytest.fixture
def version(consultation, vn_delegate):
    version = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    section = factories.SectionFactory(
        version=version, key="plan", number="1", heading="Quy hoạch hạ tầng", body=TEXT, depth=0
    )
    engagement_round = factories.EngagementRoundFactory(
        version=version, title="Second round", state=EngagementRound.State.OPEN
    )
    factories.CommentFactory(
        round=engagement_round, section=section, author=vn_delegate, body="Quy hoạch needs a rural target."
    )
    return version


def _no_serious_violations(page) -> None:
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in serious)


def test_a_delegate_sees_counts_and_finds_text_and_comments_without_accents(browser_page, version, vn_delegate):
    page = browser_page
    log_in(page, "vn.delegate@example.org")
    page.goto(reverse("consultations:version", args=[version.consultation.slug, "0.2"]))

    contents = page.get_by_role("navigation", name="Sections")
    expect(contents.get_by_role("link", name="1 Quy hoạch hạ tầng 1 comment")).to_be_visible()
    _no_serious_violations(page)

    page.get_by_label("Search version 0.2 and its comments").fill("quy hoach")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="In the text of version 0.2")).to_be_visible()
    expect(page.locator(".search-hits mark").first).to_have_text("Quy")
    expect(page.get_by_role("link", name="1 Quy hoạch hạ tầng")).to_be_visible()
    expect(page.locator(".search-hits").nth(1)).to_contain_text("needs a rural target")
    _no_serious_violations(page)
