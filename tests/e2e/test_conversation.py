"""The conversation in a real browser: an @mention picked from the suggestions, support, resolving."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from comments.models import Comment, CommentSupport
from consultations.models import EngagementRound, Section
from notifications.models import Notification
from tests import factories

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BODY = "Member states will extend 5G coverage to all urban areas by 2028."


@pytest.fixture
def section(consultation):
    version = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    section = factories.SectionFactory(
        version=version, key="mobile", number="1.1.1", heading="Next-generation mobile networks", body=BODY
    )
    factories.EngagementRoundFactory(
        version=version,
        title="Second stakeholder engagement",
        state=EngagementRound.State.OPEN,
        visibility=EngagementRound.Visibility.LIVE,
    )
    return section


def open_section(page: Page, email: str, section: Section) -> None:
    log_in(page, email)
    page.goto(reverse("comments:section", args=[section.version.consultation.slug, "0.2", "mobile"]))
    expect(page.get_by_role("heading", name="Next-generation mobile networks")).to_be_visible()


def test_delegate_mentions_a_colleague_another_delegation_supports_and_the_author_resolves(
    browser_page, chromium, live_server, section, vn_delegate, vn_colleague, th_delegate
):
    vn_colleague.full_name = "Trần Thị Bình"
    vn_colleague.save()
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)

    body = page.locator("#comment-form textarea[name=body]")
    body.click()
    body.press_sequentially("Please check the year, @vn.co")
    suggestion = page.get_by_role("option", name="Trần Thị Bình")
    expect(suggestion).to_be_visible()
    # The suggestions narrow to what was typed: one colleague for "vn.co".
    expect(page.locator(".mention-list [role=option]")).to_have_count(1)
    serious = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']}: {v['help']}" for v in serious)
    body.press("Enter")
    expect(body).to_have_value("Please check the year, @vn.colleague ")
    page.locator("#comment-form").get_by_role("button", name="Submit").click()

    card = page.locator(".comment-card").filter(has_text="Please check the year")
    expect(card.locator(".mention")).to_have_text("@Trần Thị Bình")
    comment = Comment.objects.get()
    assert Notification.objects.filter(recipient=vn_colleague, kind="mention", comment=comment).exists()

    # Thailand states its support.
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    thai = context.new_page()
    open_section(thai, "th.delegate@example.org", section)
    thai.locator(f"#comment-{comment.pk}").get_by_role("button", name="Support this comment").click()
    expect(thai.locator(f"#comment-{comment.pk}")).to_contain_text("Supported by: Thailand")
    assert CommentSupport.objects.filter(comment=comment, organisation__name="Thailand").exists()
    context.close()

    # The author marks the thread resolved: it folds under one line.
    page.reload()
    card = page.locator(f"#comment-{comment.pk}")
    expect(card).to_contain_text("Supported by: Thailand")
    card.get_by_role("button", name="Mark thread resolved").click()
    card = page.locator(f"#comment-{comment.pk}")
    expect(card.locator(".resolved-note")).to_contain_text("Resolved by")
    expect(card.locator(".comment-body")).to_be_hidden()
    card.locator("summary", has_text="Show the resolved thread").click()
    expect(card.locator(".comment-body")).to_be_visible()
