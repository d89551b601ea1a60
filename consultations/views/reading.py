"""Pages every participant reads: my consultations, a consultation's overview, a version's text.

A section's page, with its comments, is the comments app's (comments.views.reading)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from .. import selectors
from ..access import RoundAccess, round_access
from ..line_numbers import line_length
from ..services import section_tree
from ..signals import comment_counts_for, panels_for_version

PAGE_SIZE = 20
# The reader's choice to see line numbers, kept for the session (every reading page follows it).
LINE_NUMBERS_SESSION_KEY = "line_numbers"


def wants_line_numbers(request) -> bool:
    """Line numbers on or off: ?lines=on / ?lines=off chooses, and the session remembers the choice."""
    choice = request.GET.get("lines")
    if choice in ("on", "off"):
        wanted = choice == "on"
        if request.session.get(LINE_NUMBERS_SESSION_KEY, False) != wanted:
            request.session[LINE_NUMBERS_SESSION_KEY] = wanted
        return wanted
    return bool(request.session.get(LINE_NUMBERS_SESSION_KEY, False))


def line_numbers_toggle(request, *, shown: bool, line_length: int | None = None) -> dict:
    """The link that turns line numbers on or off, keeping the page's other parameters (filter, page)."""
    query = {k: v for k, v in request.GET.items() if k != "lines"}
    query["lines"] = "off" if shown else "on"
    return {"show_lines": shown, "lines_toggle_url": "?" + urlencode(query), "line_length": line_length}


@login_required
def consultation_list(request):
    page = Paginator(selectors.consultations_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "consultations/list.html", {"page": page})


def _round_rows(request, consultation, rounds) -> list[RoundAccess]:
    """Each round with the state, deadline and rights this viewer has, right now."""
    now = timezone.now()
    rounds = list(rounds)
    phases = selectors.round_phases(rounds=rounds, now=now)
    return [round_access(user=request.user, engagement_round=r, now=now, phase=phases[r.pk]) for r in rounds]


@login_required
def consultation_detail(request, slug):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    today = timezone.localdate()
    phases = [{"phase": p, "state": p.state_on(today)} for p in consultation.phases.all()]
    context = {
        "consultation": consultation,
        "phases": phases,
        "versions": selectors.versions_visible_to(user=request.user, consultation=consultation),
        "rounds": _round_rows(request, consultation, selectors.rounds_for_consultation(consultation=consultation)),
        "now": timezone.now(),
        "participation": selectors.participation(user=request.user, consultation=consultation),
        "can_manage_rounds": request.user.has_perm("consultations.manage_rounds", consultation),
        "can_manage_versions": request.user.has_perm("consultations.manage_versions", consultation),
    }
    return render(request, "consultations/detail.html", context)


@login_required
def version_read(request, slug, number):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    version = selectors.get_version_for_user(user=request.user, consultation=consultation, number=number)
    sections = selectors.sections_of_version(version=version)
    rounds = [r for r in selectors.rounds_for_consultation(consultation=consultation) if r.version_id == version.pk]
    show_lines = wants_line_numbers(request)
    numbered = selectors.lines_of_version(version=version, sections=sections).sections if show_lines else {}
    # The comments this viewer may see on each section, in the round the section pages show: one query.
    shown_round = selectors.current_round_of_version(rounds=rounds, version=version, now=timezone.now())
    counts = comment_counts_for(user=request.user, engagement_round=shown_round)
    context = {
        "consultation": consultation,
        "version": version,
        "tree": section_tree(sections, counts),
        "sections": [(section, numbered.get(section.pk), counts.get(section.pk, 0)) for section in sections],
        **line_numbers_toggle(request, shown=show_lines, line_length=version.line_length or line_length()),
        "version_panels": panels_for_version(request=request, consultation=consultation, version=version),
        "rounds": _round_rows(request, consultation, rounds),
        "can_manage_versions": request.user.has_perm("consultations.manage_versions", consultation),
    }
    return render(request, "consultations/version.html", context)
