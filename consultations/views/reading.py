"""Pages every participant reads: my consultations, a consultation's overview, a version's text.

A section's page, with its comments, is the comments app's (comments.views.reading)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from .. import selectors
from ..access import RoundAccess, round_access
from ..services import section_tree

PAGE_SIZE = 20


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
    context = {
        "consultation": consultation,
        "version": version,
        "tree": section_tree(sections),
        "sections": sections,
        "rounds": _round_rows(request, consultation, rounds),
        "can_manage_versions": request.user.has_perm("consultations.manage_versions", consultation),
    }
    return render(request, "consultations/version.html", context)
