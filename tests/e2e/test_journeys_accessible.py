"""Every persona's journey through the demo consultation, page by page, in a real browser.

The demo (`seed_demo`: a closed and decided first round, an open second round with comments and
replies) is walked as each demo account: the delegate, the focal point, the development partner,
the secretariat, the consultant and the organiser (the site admin who runs consultation windows),
and a visitor who is not logged in. The ways of walking are four: at desktop width with a
mouse and at phone width with touch (hasTouch, isMobile), in English and in Vietnamese; `walks`
says which persona is walked in which way (all 28 with JOURNEYS_EVERY_WAY=1).

On every page, and again once the page's own control is used (the sentence picker of a section,
by keyboard on a desktop and by a tap on a phone; the reply box of a thread; the disposition form
of the consolidated feedback), axe-core finds no serious or critical violation; at phone width
nothing makes the page scroll sideways except inside a labelled scrolling region; the page is in
the language asked for. A page added to a journey is a row in JOURNEYS.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from comments.models import Comment
from consolidation.models import ConsolidationRun, Report
from consolidation.services.exports import report_request
from consultations.models import Consultation, DraftVersion, EngagementRound
from consultations.services import version_copy_for_editing
from demo.seed import DEMO_PASSWORD, seed_demo

from .conftest import DESKTOP, PHONE, assert_no_csp_violations, log_in, watch_csp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "adm-2030"
WAYS = [
    pytest.param(DESKTOP, "en", id="desktop-en"),
    pytest.param(DESKTOP, "vi", id="desktop-vi"),
    pytest.param(PHONE, "en", id="phone-en"),
    pytest.param(PHONE, "vi", id="phone-vi"),
]

Use = Callable[[Page, bool], None]  # (page, on a phone): what a person does on the page


@dataclass(frozen=True)
class Stop:
    url: str
    use: Use | None = None


# --- what a person does on a page ----------------------------------------------------------


def pick_a_sentence(page: Page, phone: bool) -> None:
    """The sentence picker of the first paragraph: by a tap on a phone, by the keyboard on a desktop."""
    paragraph = page.locator("#section-text p[data-offset]").first
    if phone:
        box = paragraph.bounding_box()
        assert box
        # Its first word: plain text in the demo's sections, not a highlighted passage.
        page.touchscreen.tap(box["x"] + 3, box["y"] + 3)
    else:
        paragraph.focus()
        page.keyboard.press("Enter")
    expect(page.locator(".sentence-picker[role=dialog]")).to_be_visible()
    expect(page.locator(".sentence-picker ol button").first).to_be_focused()


def open_reply_box(page: Page, phone: bool) -> None:
    """On the thread's own page the box may already be open; the reply is typed (the form filled in)."""
    box = page.locator("details.reply-box").first
    if box.get_attribute("open") is None:
        box.locator("summary").tap() if phone else box.locator("summary").click()
    box.locator("textarea").fill("Agreed.")
    expect(page.locator("details.reply-box textarea").first).to_be_visible()


def open_disposition_form(page: Page, phone: bool) -> None:
    summary = page.locator("details.fb-form > summary").first
    summary.tap() if phone else summary.click()
    expect(page.locator("details.fb-form select[name=decision], details.fb-form select").first).to_be_visible()


# --- the journeys --------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    first_round: EngagementRound
    second_round: EngagementRound
    commented_section: str  # key of a section of 0.2 with comments in the open round
    vn_comment: Comment  # Viet Nam's submitted comment in the open round
    run: ConsolidationRun
    vn_report: Report
    next_version: DraftVersion  # 0.3, being prepared by the consultant


@pytest.fixture
def demo(db) -> Demo:
    seed_demo()
    consultation = Consultation.objects.get(slug=SLUG)
    first_round = consultation.rounds.get(state=EngagementRound.State.CLOSED)
    second_round = consultation.rounds.get(state=EngagementRound.State.OPEN)
    vn_comment = (
        Comment.objects.filter(round=second_round, organisation__country_code="VN", status=Comment.Status.SUBMITTED)
        .order_by("pk")
        .first()
    )
    assert vn_comment is not None, "the demo has a submitted comment by Viet Nam in the open round"
    delegate = User.objects.get(email="vn.delegate@example.org")
    consultant = consultation.participations.get(user__email="consultant@example.org").user
    return Demo(
        first_round=first_round,
        second_round=second_round,
        commented_section=vn_comment.section.key,
        vn_comment=vn_comment,
        run=ConsolidationRun.objects.filter(round=first_round).latest("pk"),
        vn_report=report_request(
            actor=delegate,
            consultation=consultation,
            kind=Report.Kind.DRAFT,
            format=Report.Format.DOCX,
            version=second_round.version,
        ),  # fmt: skip
        next_version=version_copy_for_editing(actor=consultant, source=second_round.version, number="0.3"),
    )


def reading(demo: Demo, *, commenting: bool = True) -> list[Stop]:
    """What everyone taking part reads: the consultation, the draft, a section, the reports.

    Those who comment (delegates, partners) open the sentence picker of the section; the
    secretariat and the consultant read the same section without a comment form.
    """
    version = demo.second_round.version.number
    return [
        Stop(reverse("consultations:list")),
        Stop(reverse("consultations:detail", args=[SLUG])),
        Stop(reverse("consultations:version", args=[SLUG, version])),
        Stop(
            reverse("comments:section", args=[SLUG, version, demo.commented_section]),
            pick_a_sentence if commenting else None,
        ),
        Stop(reverse("consolidation:revision", args=[SLUG, version])),
        Stop(reverse("consolidation:reports", args=[SLUG])),
        Stop(reverse("notifications:inbox")),
        Stop(reverse("accounts:profile")),
    ]


def delegation(demo: Demo) -> list[Stop]:
    """What a member state's delegates share: their delegation's comments and threads."""
    return [
        *reading(demo),
        Stop(reverse("comments:mine", args=[SLUG])),
        Stop(reverse("comments:detail", args=[SLUG, demo.vn_comment.pk]), open_reply_box),
    ]


def delegate(demo: Demo) -> list[Stop]:
    # The report the delegate asked for (a report is its requester's and the secretariat's).
    return [*delegation(demo), Stop(reverse("consolidation:report_detail", args=[SLUG, demo.vn_report.pk]))]


def focal_point(demo: Demo) -> list[Stop]:
    return [*delegation(demo), Stop(reverse("comments:position", args=[SLUG, demo.second_round.pk]))]


def partner(demo: Demo) -> list[Stop]:
    return reading(demo)


def drafting(demo: Demo) -> list[Stop]:
    """The secretariat's and the consultant's common ground: comments, consolidation, versions."""
    first, second, prep = demo.first_round.pk, demo.second_round.pk, demo.next_version
    section = prep.sections.exclude(body="").order_by("position").first()
    assert section is not None
    return [
        *reading(demo, commenting=False),
        Stop(reverse("consultations:manage", args=[SLUG])),
        Stop(reverse("comments:tracker", args=[SLUG, second])),
        Stop(reverse("comments:position", args=[SLUG, second])),
        Stop(reverse("comments:detail", args=[SLUG, demo.vn_comment.pk])),
        Stop(reverse("consolidation:run_list", args=[SLUG, first])),
        Stop(reverse("consolidation:run_detail", args=[SLUG, first, demo.run.pk])),
        Stop(reverse("consolidation:feedback", args=[SLUG, first]), open_disposition_form),
        Stop(reverse("consolidation:feedback", args=[SLUG, second])),
        Stop(reverse("consolidation:revision", args=[SLUG, demo.first_round.version.number])),
        Stop(reverse("consultations:version_upload", args=[SLUG])),
        Stop(reverse("consultations:version_edit", args=[SLUG, prep.number])),
        Stop(reverse("consultations:section_edit", args=[SLUG, prep.number, section.key])),
        Stop(reverse("consultations:section_add", args=[SLUG, prep.number])),
        Stop(reverse("consultations:version_publish", args=[SLUG, prep.number])),
    ]


def consultant(demo: Demo) -> list[Stop]:
    return drafting(demo)


def secretariat(demo: Demo) -> list[Stop]:
    second = demo.second_round.pk
    return [
        *drafting(demo),
        Stop(reverse("consultations:round_create", args=[SLUG])),
        Stop(reverse("consultations:round_edit", args=[SLUG, second])),
        Stop(reverse("consultations:round_extend", args=[SLUG, second])),
        Stop(reverse("consultations:round_close", args=[SLUG, second])),
        Stop(reverse("consultations:participants", args=[SLUG])),
        Stop(reverse("consultations:audit", args=[SLUG])),
        Stop(reverse("consolidation:import_create", args=[SLUG, second])),
    ]


def organiser(demo: Demo) -> list[Stop]:
    """The site admin, who runs consultation windows: the manage pages and Django's admin."""
    second = demo.second_round
    consultation = second.consultation
    delegate = User.objects.get(email="vn.delegate@example.org")

    def admin(name: str, *args) -> Stop:
        return Stop(reverse(f"admin:{name}", args=args))

    return [
        Stop(reverse("consultations:list")),
        Stop(reverse("consultations:detail", args=[SLUG])),
        Stop(reverse("consultations:manage", args=[SLUG])),
        Stop(reverse("consultations:participants", args=[SLUG])),
        Stop(reverse("consultations:round_create", args=[SLUG])),
        Stop(reverse("consultations:round_extend", args=[SLUG, second.pk])),
        Stop(reverse("consultations:audit", args=[SLUG])),
        admin("index"),
        admin("consultations_consultation_add"),
        admin("consultations_consultation_change", consultation.pk),
        admin("consultations_engagementround_changelist"),
        admin("consultations_engagementround_add"),
        admin("consultations_engagementround_change", second.pk),
        admin("consultations_roundextension_add"),
        admin("consultations_draftversion_change", demo.next_version.pk),
        admin("consultations_section_change", demo.next_version.sections.order_by("position").first().pk),
        admin("consultations_participation_changelist"),
        admin("consultations_participation_change", consultation.participations.first().pk),
        admin("consultations_invitation_changelist"),
        admin("accounts_user_changelist"),
        admin("accounts_user_change", delegate.pk),
        admin("accounts_organisation_change", delegate.organisation_id),
        admin("auth_group_add"),
        admin("comments_comment_changelist"),
        admin("comments_comment_change", demo.vn_comment.pk),
        admin("comments_nationalposition_changelist"),
        admin("consolidation_disposition_changelist"),
        admin("consolidation_consolidationrun_change", demo.run.pk),
        admin("audit_auditentry_changelist"),
    ]


def visitor(demo: Demo) -> list[Stop]:
    return [Stop(reverse("account_login")), Stop(reverse("account_reset_password"))]


JOURNEYS: dict[str, tuple[str | None, Callable[[Demo], list[Stop]]]] = {
    "delegate": ("vn.delegate@example.org", delegate),
    "focal point": ("vn.focal@example.org", focal_point),
    "development partner": ("partner@example.org", partner),
    "secretariat": ("secretariat@example.org", secretariat),
    "consultant": ("consultant@example.org", consultant),
    "organiser": ("admin@example.org", organiser),
    "visitor": (None, visitor),
}


# --- the walk --------------------------------------------------------------------------------


def serious_violations(page: Page, csp: list[str]) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now.

    axe itself applies inline styles while it measures (Django's admin forms), which the
    Content-Security-Policy refuses: what the console says while axe runs is axe's, not the page's.
    """
    before = len(csp)
    results = Axe().run(page)
    del csp[before:]
    return [
        f"{page.url} {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sideways_scroll(page: Page) -> list[str]:
    """At phone width the page itself never scrolls sideways; a wide table scrolls in a named region."""
    found = []
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        found.append(f"{page.url} scrolls sideways: {widths[0]}px of content in {widths[1]}px")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('main *')].filter(el => {
            const style = getComputedStyle(el);
            return ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1
                && el.closest('table, .table-wrap, .heatmap-scroll, [role=region]') !== null
                && !(el.getAttribute('role') === 'region'
                     && (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')));
        }).map(el => el.className || el.tagName)"""
    )
    found += [f"{page.url}: {name} scrolls sideways without being a named region" for name in unnamed]
    return found


@pytest.fixture
def walker(chromium: Browser, live_server) -> Iterator[Callable[..., Page]]:
    contexts = []

    def open_page(viewport: dict, language: str) -> Page:
        phone = viewport == PHONE
        context = chromium.new_context(
            base_url=live_server.url, viewport=viewport, has_touch=phone, is_mobile=phone, locale=language
        )
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def walks() -> list:
    """The (persona, way) pairs walked.

    With JOURNEYS_EVERY_WAY=1 (`make test-journeys`), every persona in every way: 28 walks, each
    seeding the demo and running axe on every page, too long for the suite's budget. Otherwise the
    four ways turn over the personas (the first persona the first way, the second the second...),
    and the delegate and the secretariat, whose journeys hold the most controls, are walked in a
    second way: every way and every persona is walked, each page at least once in each width.
    """
    personas = list(JOURNEYS)
    if os.environ.get("JOURNEYS_EVERY_WAY") == "1":
        pairs = [(persona, way) for persona in personas for way in range(len(WAYS))]
    else:
        pairs = [(persona, index % len(WAYS)) for index, persona in enumerate(personas)]
        pairs += [("delegate", 3), ("secretariat", 0)]
    return [pytest.param(persona, *WAYS[way].values, id=f"{persona}-{WAYS[way].id}") for persona, way in pairs]


@pytest.mark.parametrize("persona, viewport, language", walks())
def test_every_page_of_the_journey_is_accessible(walker, demo, persona, viewport, language):
    email, journey = JOURNEYS[persona]
    phone = viewport == PHONE
    page = walker(viewport, language)
    csp = watch_csp(page)
    if email:
        log_in_in(page, email, language)
    problems: list[str] = []
    for stop in journey(demo):
        response = page.goto(stop.url)
        assert response is not None and response.status == 200, f"{persona}: {stop.url} answered {response.status}"
        expect(page.locator("html")).to_have_attribute("lang", language)
        problems += serious_violations(page, csp)
        if phone:
            problems += sideways_scroll(page)
        if stop.use:
            stop.use(page, phone)
            problems += serious_violations(page, csp)
            if phone:
                problems += sideways_scroll(page)
    assert not problems, f"{persona} ({viewport['width']}px, {language}):\n" + "\n".join(problems)
    assert_no_csp_violations(csp)


def log_in_in(page: Page, email: str, language: str) -> None:
    """The login form in either language: its fields by name, its button by being the form's."""
    if language == "en":
        log_in(page, email, DEMO_PASSWORD)
        return
    page.goto(reverse("account_login"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
