"""Consolidation runs of a round: start one ("Consolidate now"), follow its progress, list them.

Thin views: a scoped fetch (404 outside the user's consultations, 403 without the
permission), then a service call. The run page polls itself with htmx while the run is
queued or running and stops once it has finished.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config import jobs
from config.actions import perform
from config.errors import Refusal

from .. import selectors_runs
from ..models import ACTIVE_STATUSES, JobStatus
from ..services import aggregation

PAGE_SIZE = 20


def _feedback_url(slug: str, round_id: int) -> str | None:
    # The consolidated feedback page is built separately; until its URL exists, no link.
    try:
        return reverse("consolidation:feedback", args=[slug, round_id])
    except NoReverseMatch:
        return None


@login_required
@require_GET
def run_list(request, slug, round_id):
    engagement_round = selectors_runs.get_round_for_consolidation(user=request.user, slug=slug, round_id=round_id)
    consultation = engagement_round.consultation
    page = Paginator(selectors_runs.runs_of_round(engagement_round=engagement_round), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "consultation": consultation,
        "round": engagement_round,
        "page": page,
        "can_run": request.user.has_perm("consolidation.run", consultation),
        "active_statuses": ACTIVE_STATUSES,
    }
    return render(request, "consolidation/runs/list.html", context)


@login_required
@require_POST
def run_create(request, slug, round_id):
    engagement_round = selectors_runs.get_round_for_consolidation(
        user=request.user, slug=slug, round_id=round_id, write=True
    )

    def done(run) -> HttpResponse:
        messages.success(request, _("The consolidation has been queued."))
        if run.waiting_for_queue:
            messages.warning(request, jobs.WAITING_FOR_QUEUE)
        return redirect("consolidation:run_detail", slug, round_id, run.pk)

    def refused(answer: Refusal) -> HttpResponse:
        # Back to the list of runs (a 409 while one is under way), the reason as a message.
        messages.error(request, answer.message)
        return redirect("consolidation:run_list", slug, round_id)

    return perform(
        run=lambda _data: aggregation.consolidation_request(actor=request.user, engagement_round=engagement_round),
        done=done,
        refused=refused,
    )


@login_required
@require_GET
def run_detail(request, slug, round_id, run_id):
    engagement_round = selectors_runs.get_round_for_consolidation(user=request.user, slug=slug, round_id=round_id)
    consultation = engagement_round.consultation
    run = selectors_runs.get_run_of_round(engagement_round=engagement_round, run_id=run_id)
    is_done = run.status == JobStatus.DONE
    can_read_feedback = request.user.has_perm("consolidation.read_feedback", consultation)
    context = {
        "consultation": consultation,
        "round": engagement_round,
        "run": run,
        "is_active": run.status in ACTIVE_STATUSES,
        "is_done": is_done,
        "summary": selectors_runs.run_summary(run=run) if is_done else None,
        "feedback_url": _feedback_url(slug, round_id) if is_done and can_read_feedback else None,
        "can_run": request.user.has_perm("consolidation.run", consultation),
    }
    template = "consolidation/runs/_status.html" if request.htmx else "consolidation/runs/detail.html"
    return render(request, template, context)


urlpatterns = [
    path("<slug:slug>/rounds/<int:round_id>/consolidations/", run_list, name="run_list"),
    path("<slug:slug>/rounds/<int:round_id>/consolidations/new/", run_create, name="run_create"),
    path("<slug:slug>/rounds/<int:round_id>/consolidations/<int:run_id>/", run_detail, name="run_detail"),
]
