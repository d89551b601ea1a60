"""The secretariat's triage on the consolidated feedback, in a real browser.

By keyboard: the disposition form arrives under the person's hand when they open it, the saved
row's message takes the focus and the headline follows; the heat map is one tab stop with arrow
keys. By mouse: one decision for a selection, an assignment. At phone width (touch): the feedback,
reports and manage pages pass axe-core and nothing makes the page scroll sideways.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from consultations.services import round_close_now

from .conftest import PHONE, assert_no_csp_violations, log_in, watch_csp
from .test_secretariat_journey import (  # noqa: F401 (commented_round is a fixture)
    BANDS,
    ENERGY,
    RURAL,
    assert_accessible,
    comment_row,
    commented_round,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def feedback_url(request, open_round, secretariat, consultant):
    """The round closed (three comments: Viet Nam's on 5G, Thailand's on 5G and on data centres)."""
    request.getfixturevalue("commented_round")
    round_close_now(actor=secretariat, engagement_round=open_round)
    return reverse("consolidation:feedback", args=[open_round.consultation.slug, open_round.pk])


def focused_text(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.textContent.trim()")


def test_keyboard_decision_in_place_moves_the_focus_to_the_saved_row_and_updates_the_headline(
    browser_page, secretariat, feedback_url
):
    page = browser_page
    log_in(page, secretariat.email)
    page.goto(feedback_url)
    expect(page.get_by_text("0 of 3 submitted comments decided")).to_be_visible()

    row = comment_row(page, ENERGY)
    expect(row.get_by_label("Decision", exact=True)).to_have_count(0)  # not in the page until asked for
    row.get_by_text("Record a decision", exact=True).focus()
    page.keyboard.press("Enter")
    decision = row.get_by_label("Decision", exact=True)
    expect(decision).to_be_focused()  # fetched, and under the person's hand
    decision.select_option(label="Noted")
    row.get_by_label("Response to the commenter").fill("Noted for the next version.")
    row.get_by_role("button", name="Record", exact=True).press("Enter")

    status = comment_row(page, ENERGY).get_by_role("status")
    expect(status).to_contain_text("Disposition recorded for")
    expect(status).to_be_focused()  # not <body>
    expect(page.get_by_text("1 of 3 submitted comments decided")).to_be_visible()  # without a reload
    assert_accessible(page)


def test_heat_map_is_one_tab_stop_with_arrow_keys_between_cells_with_comments(browser_page, secretariat, feedback_url):
    page = browser_page
    log_in(page, secretariat.email)
    page.goto(feedback_url)
    table = page.locator("table[data-heatmap]")
    links = table.locator("td a")
    # Three cells hold comments; the empty ones are no links.
    expect(links).to_have_count(3)
    expect(table.locator("td a[tabindex='0']")).to_have_count(1)

    links.first.focus()
    assert focused_text(page) == "1"
    page.keyboard.press("ArrowRight")  # 5G: Thailand -> Viet Nam
    expect(table.locator("td a[tabindex='0']")).to_have_accessible_name(re.compile(r"^1 1\.1\.1 5G.* Viet Nam$"))
    page.keyboard.press("ArrowDown")  # Data centres: Viet Nam has none, the nearest cell with comments is Thailand's
    expect(table.locator("td a[tabindex='0']")).to_have_accessible_name(re.compile(r"^1 1\.1\.2 .* Thailand$"))
    page.keyboard.press("Tab")  # out of the map in one press
    assert not page.evaluate("() => !!document.activeElement.closest('table[data-heatmap]')")
    # Row headings are whole, and the map spans its card.
    expect(table.get_by_role("rowheader", name="1.1.1 5G and 6G networks")).to_be_visible()
    widths = page.evaluate(
        "() => [document.querySelector('table[data-heatmap]').getBoundingClientRect().width,"
        " document.querySelector('.heatmap-scroll').clientWidth]"
    )
    assert widths[0] >= 0.9 * widths[1] - 20


def test_one_decision_for_a_selection_and_an_assignment(browser_page, secretariat, consultant, feedback_url):
    page = browser_page
    log_in(page, secretariat.email)
    page.goto(feedback_url)

    for body in (RURAL, BANDS):
        comment_row(page, body).get_by_label(re.compile(r"^Select C\d+$")).check()
    selection = page.get_by_role("group", name=re.compile("With the selected comments"))
    selection.get_by_label("Decision for the selected comments").select_option(label="Accepted in part")
    selection.get_by_label("Response to every commenter selected").fill("Partly taken up in 0.2.")
    selection.get_by_role("button", name="Record for the selected").click()

    expect(page.get_by_role("status").filter(has_text="recorded for the 2 selected comments")).to_be_visible()
    expect(page.get_by_text("2 of 3 submitted comments decided")).to_be_visible()
    for body in (RURAL, BANDS):
        expect(comment_row(page, body)).to_contain_text("Partly taken up in 0.2.")

    comment_row(page, ENERGY).get_by_label(re.compile(r"^Select C\d+$")).check()
    selection.get_by_label("Assign the selected to").select_option(label=consultant.get_full_name())
    selection.get_by_role("button", name="Assign the selected").click()
    expect(comment_row(page, ENERGY)).to_contain_text(f"Assigned to {consultant.get_full_name()}")
    assert_accessible(page)


@pytest.mark.parametrize("where", ["feedback", "reports", "manage"])
def test_pages_at_phone_width_pass_axe_and_do_not_scroll_sideways(
    chromium, live_server, secretariat, feedback_url, where
):
    context = chromium.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-GB", has_touch=True, is_mobile=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = watch_csp(page)
    try:
        log_in(page, secretariat.email)
        slug = feedback_url.split("/")[2]
        url = {
            "feedback": feedback_url,
            "reports": reverse("consolidation:reports", args=[slug]),
            "manage": reverse("consultations:manage", args=[slug]),
        }[where]
        page.goto(url)
        if where == "feedback":
            row = comment_row(page, ENERGY)
            row.get_by_text("Record a decision", exact=True).tap()
            expect(row.get_by_label("Decision", exact=True)).to_be_visible()
        assert_accessible(page)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at phone width"
        # Every wide table scrolls inside a named region a keyboard can reach.
        for region in page.locator(".table-wrap, .heatmap-scroll").all():
            assert region.get_attribute("role") == "region"
            assert region.get_attribute("aria-label") or region.get_attribute("aria-labelledby")
    finally:
        context.close()
    assert_no_csp_violations(violations)
