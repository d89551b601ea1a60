"""Pages every participant reads: my consultations, a consultation's overview, a version's text."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation

from comments.forms.writing import CommentForm
from comments.models import Comment
from comments.selectors import section_comments
from comments.views.section import writing_state
from consolidation.selectors_revision import carried_into_section

from .. import selectors
from ..access import RoundAccess, round_access
from ..models import EngagementRound
from ..services import section_tree

PAGE_SIZE = 20


@login_required
def consultation_list(request):
    page = Paginator(selectors.consultations_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "consultations/list.html", {"page": page})


def _round_rows(request, consultation, rounds) -> list[RoundAccess]:
    """Each round with the state, deadline and rights this viewer has, right now."""
    now = timezone.now()
    return [round_access(user=request.user, engagement_round=r, now=now) for r in rounds]


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


@login_required
def section_read(request, slug, number, key):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    version = selectors.get_version_for_user(user=request.user, consultation=consultation, number=number)
    sections = selectors.sections_of_version(version=version)
    index = next((i for i, s in enumerate(sections) if s.key == key), None)
    if index is None:
        raise Http404
    section = sections[index]
    by_pk = {s.pk: s for s in sections}
    breadcrumb, parent = [], by_pk.get(section.parent_id)
    while parent is not None:
        breadcrumb.insert(0, parent)
        parent = by_pk.get(parent.parent_id)
    context = {
        "consultation": consultation,
        "version": version,
        "section": section,
        "tree": section_tree(sections),
        "breadcrumb": breadcrumb,
        "children": [s for s in sections if s.parent_id == section.pk],
        "previous": sections[index - 1] if index > 0 else None,
        "next": sections[index + 1] if index + 1 < len(sections) else None,
    }
    # Open comments from the rounds on earlier versions that landed on this section.
    context["carried"] = carried_into_section(user=request.user, section=section)
    # The round on this version (the open one, else the latest) and its comments on this section.
    now = timezone.now()
    rounds = [r for r in selectors.rounds_for_consultation(consultation=consultation) if r.version_id == version.pk]
    engagement_round = next((r for r in rounds if r.phase_at(now) == EngagementRound.State.OPEN), None)
    engagement_round = engagement_round or (rounds[-1] if rounds else None)
    if engagement_round is not None:
        comments = section_comments(user=request.user, engagement_round=engagement_round, section=section)
        for comment in comments:
            # The objects already loaded, so that cards and permission checks cost no query per comment.
            comment.round, comment.section = engagement_round, section
        writing = writing_state(user=request.user, engagement_round=engagement_round, now=now)
        context.update(
            {
                "engagement_round": engagement_round,
                "comments": comments,
                "highlighted": [c for c in comments if c.status != Comment.Status.WITHDRAWN],
                "writing": writing,
                "form": CommentForm(initial={"language": translation.get_language() or ""})
                if writing.can_write
                else None,
            }
        )
    return render(request, "consultations/section.html", context)
