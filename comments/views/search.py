"""Search a version of a consultation: its text, and the comments on it the person may see.

GET only. `q` the words (web-search syntax on PostgreSQL), `v` the version's number (default:
the latest the person may read), `sp` / `cp` the page of sections / of comments. The results
come from comments.selectors_search (two bounded queries); the page never lists what the
person may not see.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from consultations import selectors as consultation_selectors

from ..selectors_search import clean_query, search_version


def _page(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _pages(request, key: str, hit_page) -> dict:
    """The addresses of the previous and next page of one result list, keeping the other's page."""

    def at(number: int) -> str:
        query = {k: v for k, v in request.GET.items() if k in ("q", "v", "sp", "cp")}
        query[key] = str(number)
        return "?" + urlencode(query)

    return {
        "previous": at(hit_page.page - 1) if hit_page.has_previous else "",
        "next": at(hit_page.page + 1) if hit_page.has_next else "",
    }


@login_required
@require_GET
def search(request, slug):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    versions = list(consultation_selectors.versions_visible_to(user=request.user, consultation=consultation))
    if not versions:
        raise Http404
    number = request.GET.get("v", "")
    version = next((v for v in versions if v.number == number), None)
    if version is None:
        published = [v for v in versions if v.is_published]
        version = (published or versions)[-1]
    query = clean_query(request.GET.get("q", ""))
    results = None
    if query:
        rounds = list(consultation_selectors.rounds_for_consultation(consultation=consultation))
        results = search_version(
            user=request.user,
            version=version,
            rounds=rounds,
            query=query,
            section_page=_page(request.GET.get("sp")),
            comment_page=_page(request.GET.get("cp")),
        )
    context = {
        "consultation": consultation,
        "version": version,
        "versions": versions,
        "query": query,
        "results": results,
        "section_pages": _pages(request, "sp", results.sections) if results else {},
        "comment_pages": _pages(request, "cp", results.comments) if results else {},
    }
    return render(request, "comments/search.html", context)
