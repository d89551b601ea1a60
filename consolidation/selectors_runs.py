"""Reads for the consolidation run pages, each scoped to what the user may see.

A round outside the user's consultations is a 404; a participant who may neither run
consolidations nor read the consolidated feedback gets a 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from comments.models import Comment
from consultations.models import EngagementRound
from consultations.selectors import get_consultation_for_user

from .models import ACTIVE_STATUSES, ConsolidationRun, Disposition

READ_PERMS = ("consolidation.run", "consolidation.read_feedback")


def get_round_for_consolidation(*, user, slug: str, round_id: int, write: bool = False) -> EngagementRound:
    """The round, if the user may read its consolidations (write=True: may also start one).

    404 outside the user's consultations or for a round of another consultation; 403 for a
    participant without the permission.
    """
    consultation = get_consultation_for_user(user=user, slug=slug)
    perms = ("consolidation.run",) if write else READ_PERMS
    if not any(user.has_perm(perm, consultation) for perm in perms):
        raise PermissionDenied
    engagement_round = (
        EngagementRound.objects.select_related("version").filter(pk=round_id, consultation=consultation).first()
    )
    if engagement_round is None:
        raise Http404
    engagement_round.consultation = consultation
    return engagement_round


def runs_of_round(*, engagement_round: EngagementRound) -> QuerySet[ConsolidationRun]:
    """The round's runs, newest first, without their (possibly large) result."""
    return (
        ConsolidationRun.objects.filter(round=engagement_round)
        .select_related("requested_by")
        .defer("result")
        .order_by("-requested_at", "-id")
    )


def get_run_of_round(*, engagement_round: EngagementRound, run_id: int) -> ConsolidationRun:
    run = ConsolidationRun.objects.select_related("requested_by").filter(pk=run_id, round=engagement_round).first()
    if run is None:
        raise Http404
    run.round = engagement_round
    return run


def active_run(*, engagement_round: EngagementRound) -> ConsolidationRun | None:
    return runs_of_round(engagement_round=engagement_round).filter(status__in=ACTIVE_STATUSES).first()


DISPOSITION_STATES = {
    "open": _("No disposition yet"),
    "proposed": _("Disposition proposed"),
    **dict(Disposition.Decision.choices),
}


def run_summary(*, run: ConsolidationRun) -> dict:
    """What the run page shows of a finished run, with labels; read from the stored result, no query."""
    result = run.result or {}
    totals = result.get("totals", {})
    by_type = totals.get("by_type", {})
    by_status = totals.get("by_status", {})
    return {
        "totals": totals,
        "types": [
            {"code": code, "label": label, "count": by_type.get(code, 0)} for code, label in Comment.Type.choices
        ],
        "statuses": [
            {"code": code, "label": DISPOSITION_STATES.get(code, code), "count": count}
            for code, count in by_status.items()
        ],
        "organisations": result.get("organisations", []),
        "national_positions": result.get("national_positions", []),
        "group_count": totals.get("exact_groups", 0) + totals.get("near_groups", 0),
    }
