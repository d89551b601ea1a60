"""Commenting in a real browser: select, comment, reply, endorse; keyboard only; accessibility."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from comments.models import Comment, Reply
from consultations.models import EngagementRound, Section
from tests import factories

from .conftest import PHONE, assert_no_csp_violations, log_in, watch_csp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIRST = "Member states will extend 5G coverage to all urban areas by 2028."
SECOND = "Spectrum will be assigned in harmonised bands where practicable."
BODY = f"{FIRST} {SECOND}\n\nASEAN will coordinate positions on 6G ahead of international conferences."


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
        visibility=EngagementRound.Visibility.SECRETARIAT_ONLY,
    )
    return section


def section_url(section: Section) -> str:
    return reverse("comments:section", args=[section.version.consultation.slug, section.version.number, "mobile"])


def open_section(page: Page, email: str, section: Section) -> None:
    log_in(page, email)
    page.goto(section_url(section))
    expect(page.get_by_role("heading", name="Next-generation mobile networks")).to_be_visible()


def new_page(chromium, live_server) -> Page:
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


def test_delegate_selects_a_passage_comments_colleague_replies_focal_point_endorses(
    browser_page, chromium, live_server, section, vn_delegate, vn_focal_point, th_delegate
):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)

    # Select the second sentence with the mouse: press at its first letter, release after its last.
    box = page.evaluate(
        """(text) => {
            const node = document.querySelector('#section-text p').firstChild;
            const start = node.textContent.indexOf(text);
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + 1);
            const first = range.getBoundingClientRect();
            range.setStart(node, start + text.length - 1); range.setEnd(node, start + text.length);
            const last = range.getBoundingClientRect();
            return {x1: first.left + 1, y1: first.top + first.height / 2,
                    x2: last.right, y2: last.top + last.height / 2};
        }""",
        SECOND,
    )
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Comment on this passage").click()
    expect(page.locator("[data-anchor-preview]")).to_contain_text(SECOND)

    form = page.locator("#comment-form")
    form.get_by_label("Technical").check()
    form.locator("textarea[name=body]").fill("Harmonised bands should be agreed at ASEAN level.")
    form.locator("textarea[name=proposed_change]").fill("Spectrum will be assigned in ASEAN-harmonised bands.")
    form.get_by_role("button", name="Submit").click()

    card = page.locator(".comment-card").filter(has_text="Harmonised bands should be agreed")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Submitted")
    expect(page.locator("#section-text mark")).to_have_text(SECOND)
    comment = Comment.objects.get()
    assert (comment.quote_exact, comment.position_start) == (SECOND, BODY.index(SECOND))
    assert comment.status == Comment.Status.SUBMITTED

    # A colleague of the same delegation replies, without a page reload.
    colleague = new_page(chromium, live_server)
    open_section(colleague, "vn.focal@example.org", section)
    card = colleague.locator(f"#comment-{comment.pk}")
    card.locator("summary", has_text="Reply").click()
    card.get_by_label("Your reply").fill("Agreed, and we should name the 3.5 GHz band.")
    card.get_by_role("button", name="Post reply").click()
    expect(card).to_contain_text("Agreed, and we should name the 3.5 GHz band.")
    assert Reply.objects.filter(comment=comment, author=vn_focal_point).exists()

    # The focal point endorses it into the national position.
    card.get_by_role("button", name="Endorse into national position").click()
    expect(card.get_by_role("button", name="Remove from national position")).to_be_visible()
    comment.refresh_from_db()
    assert comment.is_endorsed and comment.endorsed_by == vn_focal_point

    # A delegate of another state does not see it: the round is secretariat_only.
    other = new_page(chromium, live_server)
    open_section(other, "th.delegate@example.org", section)
    expect(other.locator("#section-text")).to_contain_text(SECOND)
    expect(other.locator(".comment-card")).to_have_count(0)
    expect(other.locator("#section-text mark")).to_have_count(0)


def test_keyboard_only_delegate_anchors_a_sentence_and_submits(browser_page, section, vn_delegate):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)

    # Tab until the first paragraph of the text has the focus, then pick its first sentence.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#section-text p[data-offset]')"):
            break
    else:
        pytest.fail("no paragraph of the section text can be reached with the Tab key")
    page.keyboard.press("Enter")
    picker = page.get_by_role("group", name="Choose the sentence to comment on")
    if not picker.count():
        picker = page.locator(".sentence-picker")
    expect(picker).to_be_visible()
    expect(page.locator(".sentence-picker button").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-anchor-preview]")).to_contain_text(FIRST)

    # The comment body now has the focus; type and submit with the keyboard alone.
    page.keyboard.type("Please add a 2026 baseline for urban coverage.")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim() === 'Submit'"):
            break
    else:
        pytest.fail("the Submit button cannot be reached with the Tab key")
    page.keyboard.press("Enter")

    expect(page.locator(".comment-card")).to_contain_text("Please add a 2026 baseline")
    comment = Comment.objects.get()
    assert comment.quote_exact == FIRST
    assert comment.position_start == 0
    assert comment.status == Comment.Status.SUBMITTED


def test_section_page_has_no_serious_accessibility_violations(browser_page, section, vn_delegate):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)
    page.locator("#comment-form textarea[name=body]").fill("A comment on the whole section.")
    page.locator("#comment-form").get_by_role("button", name="Save draft").click()
    expect(page.locator(".comment-card")).to_have_count(1)

    assert_accessible(page)


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in serious)


def test_a_selection_inside_words_takes_the_whole_words_and_the_button_goes_away(browser_page, section, vn_delegate):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)

    # From the middle of "Spectrum" to the middle of "harmonised", as a hurried mouse does.
    box = page.evaluate(
        """() => {
            const node = document.querySelector('#section-text p').firstChild;
            const start = node.textContent.indexOf('ectrum');
            const stop = node.textContent.indexOf('monised');
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + 1);
            const first = range.getBoundingClientRect();
            range.setStart(node, stop - 1); range.setEnd(node, stop);
            const last = range.getBoundingClientRect();
            return {x1: first.left + 1, y1: first.top + first.height / 2,
                    x2: last.right, y2: last.top + last.height / 2};
        }"""
    )
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    button = page.get_by_role("button", name="Comment on this passage")
    button.click()
    expect(page.locator("[data-anchor-preview]")).to_contain_text("Spectrum will be assigned in harmonised")

    form = page.locator("#comment-form")
    form.get_by_label("Editorial").check()
    form.locator("textarea[name=body]").fill("Say which bands.")
    form.get_by_role("button", name="Submit").click()
    card = page.locator(".comment-card").filter(has_text="Say which bands.")
    expect(card).to_be_visible()
    # Keyboard focus lands on what was saved (its confirmation), not on the page's body.
    expect(card.locator(".message.success")).to_be_focused()
    assert Comment.objects.get().quote_exact == "Spectrum will be assigned in harmonised"
    # Once used, the floating button is gone: it does not stay over the text doing nothing.
    expect(button).to_be_hidden()


def test_on_a_phone_a_tap_on_a_paragraph_opens_the_sentence_picker(chromium, live_server, section, vn_delegate):
    context = chromium.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-GB", has_touch=True, is_mobile=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = watch_csp(page)
    try:
        open_section(page, "vn.delegate@example.org", section)
        paragraph = page.locator("#section-text p[data-offset]").first
        paragraph.tap()
        picker = page.get_by_role("dialog", name="Choose the sentence to comment on")
        expect(picker).to_be_visible()
        # Each sentence of the paragraph, and the paragraph as a whole.
        expect(picker.get_by_role("button")).to_have_text([FIRST, SECOND, "The whole paragraph", "Close"])
        assert_accessible(page)
        picker.get_by_role("button", name=SECOND).tap()
        expect(picker).to_be_hidden()
        expect(page.locator("[data-anchor-preview]")).to_contain_text(SECOND)

        form = page.locator("#comment-form")
        form.get_by_label("Technical").tap()
        form.locator("textarea[name=body]").fill("Which bands? Name them.")
        form.get_by_role("button", name="Submit").tap()
        card = page.locator(".comment-card").filter(has_text="Which bands? Name them.")
        expect(card).to_be_visible()
        expect(page.locator("#section-text mark")).to_have_text(SECOND)
        comment = Comment.objects.get()
        assert (comment.quote_exact, comment.position_start) == (SECOND, BODY.index(SECOND))
        assert comment.status == Comment.Status.SUBMITTED

        # The whole paragraph: the second paragraph has one sentence, so the picker offers just it.
        page.locator("#section-text p[data-offset]").nth(1).tap()
        expect(picker.get_by_role("button")).to_have_text([BODY.split("\n\n")[1], "Close"])
        picker.get_by_role("button", name="Close").tap()
        expect(picker).to_be_hidden()
        # A tap on a highlighted passage goes to its comment instead.
        page.locator("#section-text mark").tap()
        expect(picker).to_have_count(0)
        expect(card).to_be_focused()
    finally:
        context.close()
    assert_no_csp_violations(violations)


def test_the_whole_paragraph_can_be_chosen_and_a_mouse_click_opens_no_picker(browser_page, section, vn_delegate):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)
    paragraph = page.locator("#section-text p[data-offset]").first
    paragraph.click()  # a mouse click places the caret; selecting with the mouse stays as it was
    expect(page.locator(".sentence-picker")).to_have_count(0)
    paragraph.focus()
    page.keyboard.press("c")
    page.get_by_role("button", name="The whole paragraph").click()
    expect(page.locator("[data-anchor-preview]")).to_contain_text(f"{FIRST} {SECOND}")
    page.locator("#comment-form textarea[name=body]").fill("The paragraph as a whole.")
    page.locator("#comment-form").get_by_role("button", name="Save draft").click()
    expect(page.locator(".comment-card")).to_have_count(1)
    assert Comment.objects.get().quote_exact == f"{FIRST} {SECOND}"


def test_from_the_skip_link_the_first_paragraph_is_a_few_tab_presses_away(browser_page, section, vn_delegate):
    page = browser_page
    open_section(page, "vn.delegate@example.org", section)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    # Past the breadcrumb and the table of contents: the heading of the section, then its text.
    expect(page.locator("#section-heading")).to_be_focused()
    presses = 0
    while not page.evaluate("document.activeElement.matches('#section-text p[data-offset]')"):
        presses += 1
        assert presses <= 3, f"{presses} Tab presses from the skip link and still not on the text"
        page.keyboard.press("Tab")
    expect(page.locator("#section-text p[data-offset]").first).to_be_focused()
