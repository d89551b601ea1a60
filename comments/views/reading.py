"""A section's reading page: its text, the comments of the round on its version, the form to write one.

What other apps add below the text (e.g. consolidation's comments carried over from earlier
versions) comes through comments.signals.section_page_panels.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation

from consultations import selectors as consultation_selectors
from consultations.models import Section
from consultations.services import section_tree
from consultations.signals import comment_counts_for

from ..forms.writing import CommentForm
from ..selectors import SectionFilter, section_window
from ..signals import panels_for_section
from .section import section_lines_context, window_context, writing_state


@login_required
def section_read(request, slug, number, key):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    version = consultation_selectors.get_version_for_user(user=request.user, consultation=consultation, number=number)
    sections = consultation_selectors.sections_of_version(version=version)
    index = next((i for i, s in enumerate(sections) if s.key == key), None)
    if index is None:
        raise Http404
    section = sections[index]
    by_pk = {s.pk: s for s in sections}
    breadcrumb: list[Section] = []
    parent = by_pk.get(section.parent_id) if section.parent_id else None
    while parent is not None:
        breadcrumb.insert(0, parent)
        parent = by_pk.get(parent.parent_id) if parent.parent_id else None
    # The round on this version (the open one, else the latest) and its comments on this section.
    now = timezone.now()
    rounds = consultation_selectors.rounds_for_consultation(consultation=consultation)
    engagement_round = consultation_selectors.current_round_of_version(rounds=rounds, version=version, now=now)
    context = {
        "consultation": consultation,
        "version": version,
        "section": section,
        "breadcrumb": breadcrumb,
        "children": [s for s in sections if s.parent_id == section.pk],
        "previous": sections[index - 1] if index > 0 else None,
        "next": sections[index + 1] if index + 1 < len(sections) else None,
        "panels": panels_for_section(request=request, consultation=consultation, section=section),
        **section_lines_context(request, version=version, section=section, sections=sections),
    }
    if engagement_round is not None:
        # One page of the comments (filtered), never all of them: the page's size does not grow
        # with the section's comments; the text highlights the passages of the comments shown.
        window = section_window(
            user=request.user,
            engagement_round=engagement_round,
            section=section,
            section_filter=SectionFilter.from_query(request.GET),
        )
        writing = writing_state(user=request.user, engagement_round=engagement_round, now=now)
        context.update(
            {
                "engagement_round": engagement_round,
                "writing": writing,
                "form": CommentForm(initial={"language": translation.get_language() or ""})
                if writing.can_write
                else None,
                **window_context(request, window),
            }
        )
        if request.htmx and request.htmx.target == "comment-window":
            # A page link or the filter: the window, with the counts and the text's highlights out of band.
            return render(request, "comments/section/_comment_window.html", {**context, "oob": True})
    # The contents with the comments the viewer may see on each section (one query; not for the window alone).
    context["tree"] = section_tree(sections, comment_counts_for(user=request.user, engagement_round=engagement_round))
    return render(request, "comments/section/page.html", context)
