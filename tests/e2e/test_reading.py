"""A delegate logs in and reads a section of the draft, on a desktop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

from consultations.models import Section
from tests import factories

from .conftest import PHONE, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECTION_BODY = (
    "Member states will extend 5G coverage to all urban areas by 2028 and to the main transport corridors "
    "by 2030, sharing passive infrastructure where the market alone would not reach."
)


@pytest.fixture
def published_version(consultation):
    """Version 1.0 of the draft: a component, a chapter and two clauses, under an open round."""
    version = factories.DraftVersionFactory(consultation=consultation, number="1.0")
    component = factories.SectionFactory(
        version=version, key="outcomes", kind=Section.Kind.COMPONENT, number="1", heading="Strategic outcomes",
        body="", position=1, depth=0,
    )  # fmt: skip
    chapter = factories.SectionFactory(
        version=version, parent=component, key="infra", kind=Section.Kind.CHAPTER, number="1.1",
        heading="Seamless and inclusive digital infrastructure", body="", position=2, depth=1,
    )  # fmt: skip
    factories.SectionFactory(
        version=version, parent=chapter, key="infra-5g", number="1.1.1", heading="5G and 6G networks",
        body=SECTION_BODY, position=3, depth=2,
    )  # fmt: skip
    factories.SectionFactory(
        version=version, parent=chapter, key="infra-dc", number="1.1.2", heading="Data centres",
        body="Regional data centres will run on renewable energy.", position=4, depth=2,
    )  # fmt: skip
    factories.EngagementRoundFactory(version=version, title="First stakeholder engagement")
    return version


def test_delegate_logs_in_and_reads_a_section_on_desktop_and_phone(
    browser_page, vn_delegate, published_version, tmp_path
):
    page = browser_page
    log_in(page, vn_delegate.email)

    page.get_by_role("link", name="ASEAN Digital Masterplan 2030").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ASEAN Digital Masterplan 2030")
    page.get_by_role("link", name="1.0", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Version 1.0")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="1.1.1 5G and 6G networks").click()

    expect(page).to_have_url(re.compile(r"/consultations/adm-2030/.*/infra-5g/?$"))
    heading = page.locator("#section-heading")
    expect(heading).to_be_visible()
    expect(heading).to_have_text(re.compile(r"1\.1\.1\s+5G and 6G networks"))
    expect(page.locator("#section-text")).to_have_text(SECTION_BODY)
    expect(page.locator("#section-text")).to_be_visible()
    page.screenshot(path=tmp_path / "section-desktop.png", full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#section-text")).to_be_visible()
    expect(page.locator("#section-text")).to_have_text(SECTION_BODY)
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    page.screenshot(path=tmp_path / "section-phone.png", full_page=True)
    assert widths["scroll"] <= widths["client"], f"the page scrolls sideways on a phone: {widths}"
