"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Fixture names avoid pytest-playwright's (browser, page), whose fixtures would launch
Playwright's own downloaded browsers, which this project does not install.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import PASSWORD
from tests.helpers.services import chromium_path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def _async_unsafe_allowed() -> Iterator[None]:
    # Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    # the test's own database calls as "from an async context"; they are in fact synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def chromium(_async_unsafe_allowed) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server) -> Iterator[Page]:
    context = chromium.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = watch_csp(page)
    yield page
    context.close()
    assert_no_csp_violations(violations)


def watch_csp(page: Page) -> list[str]:
    """Collects what Chromium reports when the Content-Security-Policy blocks something."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def assert_no_csp_violations(violations: list[str]) -> None:
    assert not violations, "The Content-Security-Policy blocked something:\n" + "\n".join(violations)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Through the real allauth login form, as a delegate would."""
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
