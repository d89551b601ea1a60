"""Reads for reports, exports and template imports, each scoped to the person asking.

What goes into an export is what the REQUESTER may see: every comment query here starts from
comments.selectors.comments_visible_to, one round at a time. On PostgreSQL the matrix's rows
leave the database by COPY (copy_csv_lines, copy_text_rows), with what the report records about
them from one aggregate (export_summary).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.http import Http404

from comments.models import Comment, CommentFlag, CommentSupport
from comments.selectors import comments_visible_to
from consultations.models import Consultation, DraftVersion, EngagementRound, Section
from consultations.rules import is_secretariat, is_site_admin
from consultations.selectors import lines_of_versions, versions_visible_to

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


def export_anchors(*, consultation: Consultation, engagement_round: EngagementRound | None) -> dict:
    """The Line number and paragraph of every section an export's comments may be on (matrix.SectionAnchors).

    Two queries for the line numbers of the rounds' versions (consultations.selectors.lines_of_versions)
    and one for their bodies' paragraphs, however many comments the export holds.
    """
    from .documents.matrix import anchors_of

    version_ids = {
        each.version_id for each in export_rounds(consultation=consultation, engagement_round=engagement_round)
    }
    lines = lines_of_versions(version_ids=version_ids)
    sections = {pk: numbered for version in lines.values() for pk, numbered in version.sections.items()}
    bodies = dict(Section.objects.filter(version_id__in=version_ids).values_list("pk", "body"))
    return anchors_of(sections, bodies)


def export_supporters(*, consultation: Consultation, engagement_round: EngagementRound | None) -> dict[int, str]:
    """{comment id: "TH, VN"}: the delegations supporting each comment of the export's rounds, as MB/NC
    names them, in the order they stated it (the values path; on PostgreSQL matrix_cells says the
    same in SQL). One query; rows only for supported comments, and looked up only by exported ids.
    """
    from .documents.matrix import supporter_label

    rounds = [each.pk for each in export_rounds(consultation=consultation, engagement_round=engagement_round)]
    found: dict[int, list[str]] = {}
    rows = (
        CommentSupport.objects.filter(comment__round_id__in=rounds)
        .order_by("comment_id", "id")
        .values_list("comment_id", "organisation__country_code", "organisation__short_name", "organisation__name")
    )
    for comment_id, code, short_name, name in rows:
        found.setdefault(comment_id, []).append(supporter_label(code, short_name, name))
    return {comment_id: ", ".join(names) for comment_id, names in found.items()}


@contextmanager
def export_tables(anchors: dict, organisation_cells: dict[int, str | None]) -> Iterator[None]:
    """What the matrix's cells look up per section and per organisation, in temporary tables of this connection.

    matrix.ANCHOR_TABLE: the anchors of each section (matrix.SectionAnchors). matrix.ORGANISATION_TABLE:
    each organisation's MB/NC cell, finished in Python (matrix.organisation_cells). Both live while
    the export runs and are dropped after it.

    JIT compilation is off meanwhile: the cells' cost is calls of functions (regular expressions,
    normalize) that compiled code calls just the same, and at a million rows PostgreSQL spent 1.6 s
    compiling and optimising the statement's 77 functions before its first row (docs/performance.md).
    """
    from .documents.matrix import ANCHOR_TABLE, ORGANISATION_TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{ANCHOR_TABLE}, pg_temp.{ORGANISATION_TABLE}; SET jit = off")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {ANCHOR_TABLE} (section_id bigint PRIMARY KEY, first_line integer NOT NULL, "
            "first_body_line integer NOT NULL, body_starts integer[] NOT NULL, para_starts integer[] NOT NULL); "
            f"CREATE TEMPORARY TABLE {ORGANISATION_TABLE} (organisation_id bigint PRIMARY KEY, cell text)"
        )
        with cursor.cursor.copy(f"COPY {ANCHOR_TABLE} FROM STDIN") as copy:
            for pk, each in anchors.items():
                copy.write_row(
                    (pk, each.first_line, each.first_body_line, list(each.body_starts), list(each.para_starts))
                )
        with cursor.cursor.copy(f"COPY {ORGANISATION_TABLE} FROM STDIN") as copy:
            for pk, cell in organisation_cells.items():
                copy.write_row((pk, cell))
        cursor.execute(f"ANALYZE {ANCHOR_TABLE}, {ORGANISATION_TABLE}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{ANCHOR_TABLE}, pg_temp.{ORGANISATION_TABLE}; RESET jit")


def feedback_sections(*, version: DraftVersion) -> QuerySet[Section]:
    return version.sections.order_by("position")


def rounds_for_reports(*, consultation: Consultation) -> QuerySet[EngagementRound]:
    return consultation.rounds.select_related("version").order_by("opens_at", "id")


def versions_for_reports(*, user, consultation: Consultation) -> QuerySet[DraftVersion]:
    return versions_visible_to(user=user, consultation=consultation)


# --- the matrix's rows by COPY (PostgreSQL) ---------------------------------------------------


def copy_available() -> bool:
    """Whether the database can stream an export with COPY (PostgreSQL); other databases take the Python path."""
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class ExportSummary:
    """What a report records about the comments it holds, from one aggregate instead of from its rows."""

    comments: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    organisation_names: dict[int, tuple[str, str, str]]  # {id: (country code, short name, name)}
    rounds: list[int]
    as_of: datetime | None  # the latest change: a comment's, or a decided disposition's

    @property
    def organisations(self) -> int:
        return len(self.organisation_names)

    def source(self) -> dict:
        return {
            "comments": self.comments,
            "organisations": self.organisations,
            "rounds": self.rounds,
            "by_type": self.by_type,
            "by_status": self.by_status,
        }


def export_summary(queryset: QuerySet[Comment]) -> ExportSummary:
    """Counts by type and status, the organisations (with their names), rounds and the latest change of `queryset`,
    in one query."""
    groups = (
        queryset.order_by()
        .values(
            "type",
            "status",
            "round_id",
            "organisation_id",
            "organisation__country_code",
            "organisation__short_name",
            "organisation__name",
        )
        .annotate(
            n=Count("pk"),
            updated=Max("updated_at"),
            # Only a decided disposition dates the export (a proposal is internal); "" is not > "".
            decided=Max("disposition__updated_at", filter=Q(disposition__decision__gt="")),
        )
    )
    by_type: dict[str, int] = {}
    by_status: dict[str, int] = {}
    organisations: dict[int, tuple[str, str, str]] = {}
    rounds = set()
    total = 0
    as_of = None
    for group in groups:
        n = group["n"]
        total += n
        by_type[group["type"]] = by_type.get(group["type"], 0) + n
        by_status[group["status"]] = by_status.get(group["status"], 0) + n
        organisations[group["organisation_id"]] = (
            group["organisation__country_code"],
            group["organisation__short_name"],
            group["organisation__name"],
        )
        rounds.add(group["round_id"])
        for moment in (group["updated"], group["decided"]):
            if moment is not None and (as_of is None or moment > as_of):
                as_of = moment
    return ExportSummary(
        comments=total,
        by_type=by_type,
        by_status=by_status,
        organisation_names=organisations,
        rounds=sorted(rounds),
        as_of=as_of,
    )


def _copy_statement(queryset: QuerySet, cursor, options: str) -> str:
    sql, params = queryset.query.sql_with_params()
    with psycopg.ClientCursor(cursor.connection) as client:
        select = client.mogrify(sql, params)
    return f"COPY ({select}) TO STDOUT ({options})"


def _copied(queryset: QuerySet, options: str, types: list[str] | None = None) -> Generator:
    with connection.cursor() as cursor:
        try:
            statement = _copy_statement(queryset, cursor.cursor, options)
        except EmptyResultSet:  # .none() or an empty IN (): a consultation without rounds has no SQL to copy
            return
        # Logged as Django logs its queries (connection.queries, the tests' query counts).
        logged = cursor.debug_sql(statement) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged, cursor.cursor.copy(statement) as copy:
            if types is None:
                yield from copy
            else:
                copy.set_types(types)
                yield from copy.rows()


def copy_csv_lines(queryset: QuerySet) -> Generator[memoryview]:
    """COPY (the queryset's SELECT) TO STDOUT (FORMAT csv): each row's CSV line, ending in \\n, as PostgreSQL sends it.

    The rows stream: PostgreSQL makes the next ones while Python writes these, and memory holds one line.
    """
    return _copied(queryset, "FORMAT csv")


def copy_text_rows(queryset: QuerySet) -> Generator[tuple[str | None, ...]]:
    """COPY (the queryset's values_list SELECT) TO STDOUT (FORMAT binary): each row a tuple of texts (or None)."""
    return _copied(queryset, "FORMAT binary", ["text"] * len(queryset._fields))  # type: ignore[attr-defined]
