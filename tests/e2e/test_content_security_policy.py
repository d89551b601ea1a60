"""Pages under the Content-Security-Policy, in Chromium: nothing of ours is blocked, an injected
inline script is, and the pages that had inline code (language selector, Swagger UI) still work.

Every browser test fails on a CSP violation (browser_page in conftest.py); these add the pages
the journeys do not visit and prove that the check itself can fail.
"""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

from .conftest import assert_no_csp_violations, log_in, watch_csp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_every_page_sends_a_policy_that_forbids_inline_script(browser_page, vn_delegate):
    response = browser_page.goto("/accounts/login/")

    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in policy
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_an_injected_inline_script_is_blocked_and_reported(chromium, live_server, vn_delegate):
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    violations = watch_csp(page)
    page.goto("/accounts/login/")

    # What a stored XSS would put in a page: an inline script and an inline handler.
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.body.appendChild(s);
            document.body.insertAdjacentHTML("beforeend", '<img src="data:," onload="window.__handler = true">');
        }"""
    )
    page.wait_for_timeout(200)  # let the image load event fire (or be refused)

    assert page.evaluate("() => window.__injected") is None
    assert page.evaluate("() => window.__handler") is None
    context.close()
    assert len(violations) >= 2
    with pytest.raises(AssertionError, match="Content-Security-Policy blocked"):
        assert_no_csp_violations(violations)


def test_the_language_selector_switches_without_inline_handler(browser_page, vn_delegate):
    page = browser_page
    log_in(page, vn_delegate.email)

    page.locator("#language-select").select_option("vi")

    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_swagger_ui_renders_the_api_under_the_policy(browser_page, vn_delegate):
    page = browser_page
    log_in(page, vn_delegate.email)

    page.goto("/api/docs/")

    # Generating the whole schema takes a while on a busy machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Consultation platform API", timeout=60_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/consultations/").first).to_be_visible()


def test_the_admin_works_under_the_policy(browser_page, site_admin, consultation):
    page = browser_page
    log_in(page, site_admin.email)

    page.goto("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/consultations/consultation/")
    expect(page.locator("#result_list")).to_contain_text(consultation.title)
    page.goto(f"/admin/consultations/consultation/{consultation.pk}/change/")
    expect(page.get_by_role("main")).to_contain_text(consultation.title)


def test_the_totp_set_up_page_shows_its_qr_code(browser_page, secretariat):
    page = browser_page
    log_in(page, secretariat.email)

    page.goto("/accounts/2fa/totp/activate/")
    if "/reauthenticate/" in page.url:  # allauth asks for the password again first
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url("**/2fa/totp/activate/")

    qr = page.locator("img[src^='data:']").first
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0  # a refused image has none
