"""Reads for reports, exports and template imports, each scoped to the person asking.

What goes into an export is what the REQUESTER may see: every comment query here starts from
comments.selectors.comments_visible_to, one round at a time.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import Http404

from comments.models import Comment, CommentFlag
from comments.selectors import comments_visible_to
from consultations.models import Consultation, DraftVersion, EngagementRound, Section
from consultations.rules import is_secretariat, is_site_admin
from consultations.selectors import versions_visible_to

from .models import ImportJob, Report

CHUNK_SIZE = 500


def sees_all_reports(*, user, consultation: Consultation) -> bool:
    """The secretariat and site admins see everyone's reports; others only their own."""
    return bool(is_site_admin(user) or is_secretariat(user, consultation))


def reports_visible_to(*, user, consultation: Consultation) -> QuerySet[Report]:
    qs = Report.objects.filter(consultation=consultation).select_related(
        "round", "version", "requested_by", "consultation"
    )
    if not sees_all_reports(user=user, consultation=consultation):
        qs = qs.filter(requested_by=user)
    return qs.order_by("-requested_at", "-id")


def get_report_for_user(*, user, consultation: Consultation, pk: int) -> Report:
    """One report the user asked for (any, for the secretariat and admins), else 404."""
    report = reports_visible_to(user=user, consultation=consultation).filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def imports_of(*, consultation: Consultation) -> QuerySet[ImportJob]:
    return (
        ImportJob.objects.filter(round__consultation=consultation)
        .select_related("round", "organisation", "requested_by")
        .order_by("-requested_at", "-id")
    )


def get_import_for_user(*, user, consultation: Consultation, pk: int) -> ImportJob:
    """Import jobs are the secretariat's: callers check consolidation.import_template first."""
    job = imports_of(consultation=consultation).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


# --- what goes into exports ---------------------------------------------------------------


def export_rounds(*, consultation: Consultation, engagement_round: EngagementRound | None) -> list[EngagementRound]:
    if engagement_round is not None:
        return [engagement_round]
    return list(consultation.rounds.select_related("consultation", "version").order_by("opens_at", "id"))


def exported_comments(
    *, user, consultation: Consultation, engagement_round: EngagementRound | None = None
) -> QuerySet[Comment]:
    """The submitted and withdrawn comments `user` may see, in round, clause and passage order.

    Drafts are left out even for their own organisation: an export is the record of the
    consultation, and a draft is not part of it yet.
    """
    rounds = export_rounds(consultation=consultation, engagement_round=engagement_round)
    qs = Comment.objects.none()
    for each in rounds:
        qs = qs | comments_visible_to(user=user, engagement_round=each)
    open_flags = CommentFlag.objects.filter(comment=OuterRef("pk"), resolved_at__isnull=True)
    return (
        qs.exclude(status=Comment.Status.DRAFT)
        .select_related("round", "section", "organisation", "imported_by", "disposition")
        .annotate(is_flagged=Exists(open_flags))
        .order_by(
            "round__opens_at",
            "round_id",
            "section__position",
            F("position_start").asc(nulls_first=True),
            "created_at",
            "id",
        )
    )


def feedback_sections(*, version: DraftVersion) -> QuerySet[Section]:
    return version.sections.order_by("position")


def rounds_for_reports(*, consultation: Consultation) -> QuerySet[EngagementRound]:
    return consultation.rounds.select_related("version").order_by("opens_at", "id")


def versions_for_reports(*, user, consultation: Consultation) -> QuerySet[DraftVersion]:
    return versions_visible_to(user=user, consultation=consultation)
