"""The secretariat's journey in a real browser, from the close of a round to the next version.

Close the round from the manage page, consolidate it, record decisions on the consolidated
feedback (in place, through the rows' htmx forms), download the resolution matrix and the
consolidated feedback and find the decisions in them, then start, edit and publish the next
version and follow the undecided comment into it and the revision report. Every page on the
way is checked with axe-core. Celery runs eagerly in the tests, so the jobs are done by the
time their page answers; the pages are still waited on as a person would (htmx polling).
"""

import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from comments import services as comment_services
from comments.services import AnchorInput

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONSULTATION = "ASEAN Digital Masterplan 2030"
ROUND = "Second stakeholder engagement"

RURAL = "The 2028 target should name rural areas too."
RURAL_CHANGE = "Member states will extend 5G coverage to all urban and rural areas by 2028."
RURAL_RESPONSE = "Agreed: version 0.2 names rural areas."
ENERGY = "Renewable energy for every data centre is not realistic by 2030."
ENERGY_RESPONSE = "The target stays: the leaders agreed it in their declaration."
BANDS = "Say which spectrum bands the 5G coverage relies on."

DONE_IN_TIME = 30_000  # ms: a busy machine may take a while to consolidate or make a report


@pytest.fixture
def commented_round(version, open_round, vn_delegate, th_delegate):
    """Three comments submitted by two member states while the round was open, as they would through the site."""
    five_g = version.sections.get(key="infra-5g")
    data_centres = version.sections.get(key="infra-dc")

    def submit(author, section, body, *, quote="", proposed_change=""):
        return comment_services.comment_create(
            actor=author,
            engagement_round=open_round,
            section=section,
            comment_type="te",
            body=body,
            proposed_change=proposed_change,
            anchor=AnchorInput(exact=quote) if quote else None,
            submit=True,
        )

    return {
        "rural": submit(vn_delegate, five_g, RURAL, quote="all urban areas by 2028", proposed_change=RURAL_CHANGE),
        "energy": submit(th_delegate, data_centres, ENERGY),
        "bands": submit(th_delegate, five_g, BANDS, quote="Member states will extend 5G coverage"),
    }


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"{page.url}:\n" + "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {[n['target'] for n in v['nodes']]})" for v in serious
    )


def comment_row(page: Page, body: str):
    return page.get_by_role("article").filter(has_text=body)


def record_decision(page: Page, body: str, decision: str, response: str = "", later_section: str = "") -> None:
    """Fill a comment's disposition form on the consolidated feedback and wait for the row to come back."""
    row = comment_row(page, body)
    form_toggle = row.get_by_text(re.compile(r"^(Record a decision|Change the decision)$"))
    if not row.get_by_label("Decision", exact=True).is_visible():
        form_toggle.click()
    row.get_by_label("Decision", exact=True).select_option(label=decision)
    if response:
        row.get_by_label("Response to the commenter").fill(response)
    if later_section:
        row.get_by_label("Changed section in a later version").select_option(label=later_section)
    row.get_by_role("button", name="Record", exact=True).click()
    expect(row.get_by_role("status")).to_contain_text("Disposition recorded for")
    expect(row.get_by_text(decision, exact=True).filter(visible=True)).to_be_visible()


def expect_message(page: Page, text: str) -> None:
    """The message the site puts on top of the next page after an action."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def download(page: Page, link, tmp_path, name: str) -> bytes:
    with page.expect_download() as info:
        link.click()
    path = tmp_path / name
    info.value.save_as(path)
    return path.read_bytes()


def test_secretariat_closes_consolidates_decides_exports_and_publishes_the_next_version(
    browser_page, secretariat, commented_round, tmp_path
):
    page = browser_page
    log_in(page, secretariat.email)

    # --- 1. Close the round from the manage page -------------------------------------------
    page.get_by_role("link", name=CONSULTATION).click()
    page.get_by_role("link", name="Manage consultation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Manage {CONSULTATION}")
    round_item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=ROUND))
    expect(round_item.get_by_text("Open", exact=True)).to_be_visible()
    assert_accessible(page)

    round_item.get_by_role("link", name="Close now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close now: {ROUND}")
    assert_accessible(page)
    page.get_by_role("button", name="Close now").click()

    expect_message(page, f"Round “{ROUND}” is closed.")
    # Closed, and consolidated at once (Celery is eager here; with a worker it may show Consolidating first).
    expect(round_item.locator(".badge").get_by_text(re.compile(r"^(Closed|Consolidating|Reported)$"))).to_be_visible()
    expect(round_item.get_by_text("Open", exact=True)).to_have_count(0)
    expect(round_item.get_by_role("link", name="Close now")).to_have_count(0)

    # --- 2. Consolidate it and follow the run to its end -----------------------------------
    round_item.get_by_role("link", name="Consolidations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Consolidations of {ROUND}")
    # Closing the round queued a consolidation by itself.
    expect(page.get_by_role("row").filter(has_text="Automatic, when the round closed")).to_contain_text(
        "Done", timeout=DONE_IN_TIME
    )
    assert_accessible(page)
    page.get_by_role("button", name="Consolidate now").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Consolidation of {ROUND}")
    expect_message(page, "The consolidation has been queued.")
    # The page polls itself until the run is done, then shows its summary.
    read_feedback = page.get_by_role("link", name="Read the consolidated feedback")
    expect(read_feedback).to_be_visible(timeout=DONE_IN_TIME)
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Submitted comments\s*3\b"))
    expect(page.get_by_role("table", name="Comments by type")).to_contain_text(re.compile(r"Technical\s*3"))
    assert_accessible(page)

    # --- 3. Record decisions on the consolidated feedback, in place ------------------------
    read_feedback.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consolidated feedback")
    expect(page.get_by_role("heading", name="3 comments")).to_be_visible()
    expect(page.get_by_text("0 of 3 submitted comments decided")).to_be_visible()
    assert_accessible(page)

    feedback_url = page.url
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page were loaded again
    record_decision(page, RURAL, "Accepted", RURAL_RESPONSE)
    record_decision(page, ENERGY, "Not accepted", ENERGY_RESPONSE)
    assert page.evaluate("() => window.__sameDocument === true"), "recording a decision reloaded the page"
    assert page.url == feedback_url
    expect(comment_row(page, RURAL)).to_contain_text(RURAL_RESPONSE)
    expect(comment_row(page, ENERGY)).to_contain_text(ENERGY_RESPONSE)
    expect(comment_row(page, BANDS)).to_contain_text("No disposition yet.")
    assert_accessible(page)

    # Saved, not only shown: a fresh load of the page has them.
    page.reload()
    expect(page.get_by_text("2 of 3 submitted comments decided")).to_be_visible()
    expect(comment_row(page, RURAL).get_by_text("Accepted", exact=True).filter(visible=True)).to_be_visible()
    expect(comment_row(page, ENERGY).get_by_text("Not accepted", exact=True).filter(visible=True)).to_be_visible()

    # --- 4. Export the resolution matrix and the consolidated feedback ---------------------
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=CONSULTATION).click()
    page.get_by_role("link", name="Reports and exports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports and exports")
    assert_accessible(page)

    for what in ("Comment resolution matrix (XLSX)", "Consolidated feedback (DOCX)"):
        page.get_by_label(re.compile(r"^Report:?$")).select_option(label=what)
        page.get_by_label("Engagement round").select_option(label=ROUND)
        page.get_by_role("button", name="Make the report").click()
        expect_message(page, "is being made")
        row = page.get_by_role("row").filter(has_text=what)
        expect(row.get_by_role("link", name=re.compile(r"^Download"))).to_be_visible(timeout=DONE_IN_TIME)
    assert_accessible(page)

    matrix = download(
        page,
        page.get_by_role("row").filter(has_text="Comment resolution matrix (XLSX)").get_by_role("link"),
        tmp_path,
        "matrix.xlsx",
    )
    sheet = load_workbook(io.BytesIO(matrix), read_only=True).worksheets[0]
    every_row = [list(row) for row in sheet.iter_rows(values_only=True)]
    # The header block first (what the matrix is of), then the column headers.
    header_at = next(index for index, row in enumerate(every_row) if "Observations of the secretariat" in row)
    header, *rows = every_row[header_at:]
    body_column, decided_column = header.index("Comments"), header.index("Observations of the secretariat")
    observations = {row[body_column]: row[decided_column] for row in rows}
    assert len(observations) == 3
    assert observations[RURAL] == f"Accepted: {RURAL_RESPONSE}"
    assert observations[ENERGY] == f"Not accepted: {ENERGY_RESPONSE}"
    assert not observations[BANDS]  # undecided

    feedback_docx = download(
        page,
        page.get_by_role("row").filter(has_text="Consolidated feedback (DOCX)").get_by_role("link"),
        tmp_path,
        "feedback.docx",
    )
    text = "\n".join(paragraph.text for paragraph in Document(io.BytesIO(feedback_docx)).paragraphs)
    assert f"Disposition: Accepted: {RURAL_RESPONSE}" in text
    assert f"Disposition: Not accepted: {ENERGY_RESPONSE}" in text
    assert BANDS in text

    # --- 5. Start the next version from 0.1, revise the clause, publish it -----------------
    page.get_by_role("link", name=CONSULTATION).first.click()
    page.get_by_role("link", name="Manage consultation").click()
    page.get_by_role("row").filter(has=page.get_by_role("link", name="0.1", exact=True)).get_by_role(
        "link", name="Start the next version from this one"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start the next version")
    expect(page.get_by_label("New version number")).to_have_value("0.2")
    page.get_by_label("Change summary").fill("Names rural areas in the 5G target, as Viet Nam proposed.")
    assert_accessible(page)
    page.get_by_role("button", name="Create the copy").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Version 0.2")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft in preparation")
    expect_message(page, "Version 0.2 was started as a copy of version 0.1.")
    assert_accessible(page)
    page.get_by_role("link", name="Edit 5G and 6G networks").click()
    page.get_by_label(re.compile(r"^Text:?$")).fill(RURAL_CHANGE)
    page.get_by_role("button", name="Save section").click()
    expect_message(page, "Section “5G and 6G networks” was saved.")

    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish version 0.2?")
    assert_accessible(page)
    page.get_by_role("button", name="Publish").click()
    expect_message(page, "Version 0.2 is published.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Version 0.2")
    version_url = page.url

    # --- 6. Tie the accepted comment to the clause it changed ------------------------------
    page.goto(feedback_url)
    record_decision(page, RURAL, "Accepted", later_section="v0.2 · 1.1.1 5G and 6G networks")
    expect(comment_row(page, RURAL)).to_contain_text("Led to a change in version 0.2, 1.1.1 5G and 6G networks")

    # --- 7. The revision report and the carried-over comment -------------------------------
    page.goto(version_url)
    page.get_by_role("link", name="What changed in version 0.2, and why").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revision report, version 0.2")
    by_decision = page.get_by_role("table", name="Comments of the rounds before version 0.2, by decision")
    expect(by_decision.get_by_role("row").filter(has_text="Not accepted")).to_contain_text("1")
    expect(by_decision.get_by_role("row", name=re.compile(r"^Total"))).to_contain_text("3")
    clause = page.get_by_role("region", name=re.compile(r"1\.1\.1\s+5G and 6G networks"))
    expect(clause.get_by_role("heading", name="Changed in response to")).to_be_visible()
    expect(clause).to_contain_text(RURAL)
    expect(clause.get_by_role("heading", name="Open comments carried to this section")).to_be_visible()
    expect(clause).to_contain_text(BANDS)
    expect(clause).not_to_contain_text(ENERGY)
    assert_accessible(page)

    clause.get_by_role("link", name="Read this section").click()
    expect(page.locator("#section-text")).to_have_text(RURAL_CHANGE)
    carried = page.get_by_role("region", name="Open comments from earlier versions")
    expect(carried).to_contain_text(BANDS)
    expect(carried).to_contain_text("on version 0.1")
    expect(carried).not_to_contain_text(RURAL)
    assert_accessible(page)
