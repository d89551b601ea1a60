"""Reads for the consolidation run pages, each scoped to what the user may see.

A round outside the user's consultations is a 404; a participant who may neither run
consolidations nor read the consolidated feedback gets a 403.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comments.models import Comment
from consultations.models import EngagementRound
from consultations.selectors import get_consultation_for_user

from .models import (
    ACTIVE_STATUSES,
    CAMPAIGN_RECORD,
    ConsolidationListing,
    ConsolidationRun,
    Disposition,
    DuplicateGroup,
    JobStatus,
)

READ_PERMS = ("consolidation.run", "consolidation.read_feedback")

# A closed round's stages after it closed, derived from its consolidation runs (the round
# itself only knows scheduled, open, closed).
CONSOLIDATING, REPORTED = "consolidating", "reported"
ROUND_STAGES = {CONSOLIDATING: _("Consolidating"), REPORTED: _("Reported")}
# Every phase a round is shown in, pages and API alike.
ROUND_PHASE_CHOICES = [*EngagementRound.State.choices, *ROUND_STAGES.items()]


def round_stages(*, rounds) -> dict[int, str]:
    """{round id: "consolidating" or "reported"} for those of these closed rounds that have one (one query).

    A round is reported once a consolidation started after it closed has finished, and
    consolidating while such a run is under way; before that (or if it failed) it is just closed.
    """
    # When it closed: closed_at once the services closed it (None for a round stored as closed
    # without one: every run counts); the end of its window if only the clock has closed it.
    closed_at = {
        r.pk: r.closed_at or (None if r.state == EngagementRound.State.CLOSED else r.final_closes_at) for r in rounds
    }
    stages: dict[int, str] = {}
    runs = ConsolidationRun.objects.filter(
        round_id__in=list(closed_at), status__in=[JobStatus.DONE, JobStatus.RUNNING], started_at__isnull=False
    ).values_list("round_id", "status", "started_at")
    for round_id, status, started_at in runs:
        closed = closed_at[round_id]
        if closed is not None and started_at < closed:
            continue
        if status == JobStatus.DONE:
            stages[round_id] = REPORTED
        else:
            stages.setdefault(round_id, CONSOLIDATING)
    return stages


def rounds_in_phase(queryset: QuerySet[EngagementRound], phase: str) -> QuerySet[EngagementRound]:
    """The rounds whose stored state is `phase`, or closed rounds at that stage (the API's filter)."""
    if phase not in ROUND_STAGES and phase != EngagementRound.State.CLOSED:
        return queryset.filter(state=phase)
    closed = queryset.filter(state=EngagementRound.State.CLOSED)
    stages = round_stages(rounds=list(closed))
    if phase == EngagementRound.State.CLOSED:  # closed, and nothing since
        return closed.exclude(pk__in=list(stages))
    return closed.filter(pk__in=[pk for pk, stage in stages.items() if stage == phase])


def round_phase(*, engagement_round: EngagementRound, now=None) -> str:
    """One round's phase as shown: phase_at, or its stage once closed (for the API)."""
    phase = engagement_round.phase_at(now or timezone.now())
    if phase != EngagementRound.State.CLOSED:
        return phase
    return round_stages(rounds=[engagement_round]).get(engagement_round.pk, phase)


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
        # One text pasted on several sections (consolidation.grouping.campaigns).
        "campaign_count": totals.get("campaigns", len(result.get("campaigns", []))),
        "campaign_comments": totals.get(
            "campaign_comments", sum(c.get("size", 0) for c in result.get("campaigns", []))
        ),
    }


def listed_comment_ids(*, run: ConsolidationRun) -> dict[int, list[int]]:
    """{section id: its comment ids in reading order} as the run's snapshot listed them (one query).

    Runs of result schema 2 keep them packed in their ConsolidationListing, each section's share
    as long as its `total`; older runs kept them in their result's sections.
    """
    sections = (run.result or {}).get("sections", [])
    if any("comment_ids" in section for section in sections):
        return {section["id"]: list(section.get("comment_ids", [])) for section in sections}
    packed = ConsolidationListing.objects.filter(run=run).values_list("comment_ids", flat=True).first()
    ids = np.frombuffer(bytes(packed or b""), dtype="<i8").tolist()
    listed, at = {}, 0
    for section in sections:
        listed[section["id"]] = ids[at : at + section["total"]]
        at += section["total"]
    if at != len(ids):
        raise ValueError(f"run {run.pk} lists {len(ids)} comments, its sections total {at}")
    return listed


def campaigns_of(*, run: ConsolidationRun) -> list[dict]:
    """The run's campaigns, largest first: kind, size, similarity, section_ids and comment_ids (one query).

    Runs of result schema 4 keep them packed in their ConsolidationListing; runs of schema 3
    listed them in their result and packed only their comment ids, each campaign's share as
    long as its `size`; older runs kept everything in the result.
    """
    listed = (run.result or {}).get("campaigns")
    if listed is not None and all("comment_ids" in campaign for campaign in listed):
        return [dict(campaign) for campaign in listed]
    packed = (
        ConsolidationListing.objects.filter(run=run)
        .values_list("campaigns", "campaign_ids", "campaign_section_ids")
        .first()
    )
    records, ids, section_ids = (bytes(p or b"") for p in (packed or (b"", b"", b"")))
    try:
        if listed is not None:  # schema 3
            return _with_comments(listed, np.frombuffer(ids, dtype="<i8").tolist())
        return unpacked_campaigns(records, ids, section_ids)
    except ValueError as exc:
        raise ValueError(f"run {run.pk}: {exc}") from None


def _with_comments(campaigns: list[dict], ids: list[int]) -> list[dict]:
    found, at = [], 0
    for campaign in campaigns:
        found.append({**campaign, "comment_ids": ids[at : at + campaign["size"]]})
        at += campaign["size"]
    if at != len(ids):
        raise ValueError(f"{len(ids)} campaign comments listed, the campaigns hold {at}")
    return found


def packed_campaigns(campaigns: Sequence[dict]) -> tuple[bytes, bytes, bytes]:
    """Campaigns as campaigns_of gives them, packed for a ConsolidationListing: (campaigns, campaign_ids,
    campaign_section_ids)."""
    records = np.zeros(len(campaigns), dtype=CAMPAIGN_RECORD)
    records["size"] = [c["size"] for c in campaigns]
    records["sections"] = [len(c["section_ids"]) for c in campaigns]
    records["similarity"] = [c["similarity"] for c in campaigns]
    records["near"] = [c["kind"] == DuplicateGroup.Kind.NEAR for c in campaigns]
    ids = np.array([cid for c in campaigns for cid in c["comment_ids"]], dtype="<i8")
    section_ids = np.array([sid for c in campaigns for sid in c["section_ids"]], dtype="<i8")
    return records.tobytes(), ids.tobytes(), section_ids.tobytes()


def unpacked_campaigns(records: bytes, ids: bytes, section_ids: bytes) -> list[dict]:
    """What packed_campaigns packed, as campaigns_of gives it. ValueError if the three do not match."""
    if len(records) % CAMPAIGN_RECORD.itemsize or len(ids) % 8 or len(section_ids) % 8:
        raise ValueError("the packed campaigns are cut short")
    table = np.frombuffer(records, dtype=CAMPAIGN_RECORD)
    comment_ids, sections = np.frombuffer(ids, dtype="<i8"), np.frombuffer(section_ids, dtype="<i8")
    if int(table["size"].sum()) != comment_ids.size:
        raise ValueError(f"{comment_ids.size} campaign comments listed, the campaigns hold {int(table['size'].sum())}")
    if int(table["sections"].sum()) != sections.size:
        raise ValueError(f"{sections.size} campaign sections listed, the campaigns hold {int(table['sections'].sum())}")
    comments_of = np.split(comment_ids, np.cumsum(table["size"])[:-1]) if table.size else []
    sections_of = np.split(sections, np.cumsum(table["sections"])[:-1]) if table.size else []
    kinds = {True: DuplicateGroup.Kind.NEAR.value, False: DuplicateGroup.Kind.EXACT.value}
    return [
        {
            "kind": kinds[bool(near)],
            "size": size,
            "similarity": similarity,
            "section_ids": in_sections.tolist(),
            "comment_ids": comments.tolist(),
        }
        for (size, _count, similarity, near), in_sections, comments in zip(
            table.tolist(), sections_of, comments_of, strict=True
        )
    ]
