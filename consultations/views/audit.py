"""A consultation's audit log page and its CSV download, for its secretariat (404 for anyone else).

The entries are the audit app's (audit.selectors reads them); who may read them is this app's rule
consultations.view_audit.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import selectors as audit_selectors
from audit import services as audit_services
from config.text import attachment_disposition

from .. import selectors
from ..audit_csv import csv_lines


def _filters(request) -> dict[str, str]:
    return {"action": request.GET.get("action", "").strip()[:64], "actor": request.GET.get("actor", "").strip()[:254]}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@login_required
@require_GET
def audit_list(request, slug):
    consultation = selectors.get_consultation_for_audit(user=request.user, slug=slug)
    filters = _filters(request)
    page = audit_selectors.audit_page(
        consultation=consultation,
        before=_int(request.GET.get("before")),
        after=_int(request.GET.get("after")),
        action=filters["action"],
        actor=filters["actor"],
    )
    kept = {name: value for name, value in filters.items() if value}

    def query(**extra) -> str:
        return "?" + urlencode({**kept, **extra})

    context = {
        "consultation": consultation,
        "page": page,
        "filters": filters,
        "actions": audit_selectors.actions_of(consultation=consultation),
        "newer_query": query(after=page.newer_than) if page.newer_than is not None else "",
        "older_query": query(before=page.older_than) if page.older_than is not None else "",
        "csv_query": query() if kept else "",
    }
    return render(request, "consultations/manage/audit.html", context)


@login_required
@require_GET
def audit_csv(request, slug):
    consultation = selectors.get_consultation_for_audit(user=request.user, slug=slug)
    filters = _filters(request)
    audit_services.audit_export_record(actor=request.user, consultation=consultation, filters=filters)
    response = StreamingHttpResponse(
        csv_lines(audit_selectors.csv_rows(consultation=consultation, **filters)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = attachment_disposition(f"audit-{consultation.slug}.csv")
    return response
