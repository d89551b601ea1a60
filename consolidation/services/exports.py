"""Reports and exports: asking for one (report_request) and making it in Celery (report_generate).

A report holds only what its requester may see (consolidation.selectors_reports, built on
comments.selectors.comments_visible_to). It is made by a task, never in a web request: rows
stream from the database (.iterator on a server-side cursor; for the matrix plain values, one
query, no model instances) into a temporary file (XlsxWriter's constant_memory for XLSX), and
the finished file goes to the default storage through the report's FileField.

Running a report again overwrites it (same row, new file, the old file deleted), so a task
that Celery delivers twice does no harm. Each run claims the report with a conditional UPDATE
(config.jobs.claim) and holds a lease while it works; a run that lost its claim to another (its
lease expired and the sweep queued the report again) throws its file away instead of
overwriting the newer one.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_log
from comments.models import Comment
from config import jobs
from config.jobs import enqueue_after_commit
from consultations.models import Consultation, DraftVersion, EngagementRound

from .. import selectors_reports
from ..documents import matrix
from ..documents.feedback_docx import feedback_subtitle, write_feedback_docx
from ..documents.revision_docx import write_revision_docx
from ..documents.revision_pdf import write_revision_pdf
from ..models import JobStatus, Report
from ..naming import report_storage_name
from ..selectors_revision import revision_report
from . import draft_exports
from .progress import stepped

logger = logging.getLogger(__name__)

Kind = Report.Kind
Format = Report.Format

FORMATS_BY_KIND: dict[str, tuple[str, ...]] = {
    Kind.RESOLUTION_MATRIX: (Format.XLSX, Format.CSV),
    Kind.CONSOLIDATED_FEEDBACK: (Format.DOCX,),
    Kind.REVISION_REPORT: (Format.PDF, Format.DOCX),
}
# Progress (one UPDATE) every PROGRESS_EVERY rows, or every 1/PROGRESS_STEPS of the report when
# that is more: a report of any size writes progress at most PROGRESS_STEPS times.
PROGRESS_EVERY = 1000
PROGRESS_STEPS = 20
# A revision report: its data gathered (the diff of every section, the open comments), then written.
PROGRESS_GATHERED = 20


# --- asking for a report ------------------------------------------------------------------


# The revision report: its data (selectors_revision) and one writer per format.
REVISION_WRITERS: dict[str, Callable] = {Format.PDF: write_revision_pdf, Format.DOCX: write_revision_docx}


def _check_request(
    *,
    actor,
    consultation: Consultation,
    kind: str,
    fmt: str,
    engagement_round: EngagementRound | None,
    version: DraftVersion | None,
) -> None:
    if kind not in FORMATS_BY_KIND:
        raise ValidationError({"kind": _("Choose a kind of report.")})
    if fmt not in FORMATS_BY_KIND[kind]:
        raise ValidationError(
            {
                "format": _("A %(kind)s is made as %(formats)s.")
                % {
                    "kind": Kind(kind).label,
                    "formats": ", ".join(Format(f).label for f in FORMATS_BY_KIND[kind]),
                }
            }
        )
    if engagement_round is not None and engagement_round.consultation_id != consultation.pk:
        raise ValidationError({"engagement_round": _("This round belongs to another consultation.")})
    if version is not None and not (
        selectors_reports.versions_for_reports(user=actor, consultation=consultation).filter(pk=version.pk).exists()
    ):
        raise ValidationError({"version": _("This version is not one of this consultation's versions.")})
    if kind == Kind.CONSOLIDATED_FEEDBACK and engagement_round is None:
        raise ValidationError({"engagement_round": _("Choose the round whose feedback to consolidate.")})
    draft_exports.check_draft_request(kind=kind, version=version, engagement_round=engagement_round)
    if kind == Kind.REVISION_REPORT:
        if version is None:
            raise ValidationError({"version": _("Choose the version whose revision report to make.")})


def report_request(
    *,
    actor,
    consultation: Consultation,
    kind: str,
    format: str,  # noqa: A002 - the model field's name
    engagement_round: EngagementRound | None = None,
    version: DraftVersion | None = None,
) -> Report:
    """Queue a report for `actor`, holding what `actor` may see."""
    if not actor.has_perm("consultations.view_consultation", consultation):
        raise Http404
    if not actor.has_perm("consolidation.export", consultation):
        raise PermissionDenied(_("You may not export from this consultation."))
    _check_request(
        actor=actor,
        consultation=consultation,
        kind=kind,
        fmt=format,
        engagement_round=engagement_round,
        version=version,
    )
    with transaction.atomic():
        report = Report.objects.create(
            consultation=consultation,
            round=engagement_round,
            version=version,
            kind=kind,
            format=format,
            requested_by=actor,
            # Cell values (decisions, yes/no) are written in the language the requester reads.
            source={"language": translation.get_language() or settings.LANGUAGE_CODE},
        )
        audit_log(
            actor=actor,
            action="report.requested",
            target=report,
            consultation=consultation,
            data={"kind": kind, "format": format},
        )
        _queue(report)
    return report


def _queue(report: Report) -> None:
    enqueue_after_commit("consolidation.tasks.generate_report", report.pk, job=report)


# --- making it ----------------------------------------------------------------------------


@dataclass
class _Tally:
    """What a report was made from, gathered while its rows stream past."""

    report_id: int
    attempt: int
    total: int
    count: int = 0
    as_of: datetime | None = None
    by_type: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    organisations: set = field(default_factory=set)
    rounds: set = field(default_factory=set)

    step: int = 0

    def __post_init__(self) -> None:
        self.step = max(PROGRESS_EVERY, -(-self.total // PROGRESS_STEPS))

    def see(self, comment: Comment) -> None:
        decided_at = None
        if _has_disposition(comment) and comment.disposition.decision:
            decided_at = comment.disposition.updated_at
        self.see_values(
            comment.type, comment.status, comment.organisation_id, comment.round_id, comment.updated_at, decided_at
        )

    def see_values(self, type_, status, organisation_id, round_id, updated_at, decided_at) -> None:
        self.count += 1
        self.by_type[type_] += 1
        self.by_status[status] += 1
        self.organisations.add(organisation_id)
        self.rounds.add(round_id)
        latest = updated_at if decided_at is None or decided_at < updated_at else decided_at
        if self.as_of is None or latest > self.as_of:
            self.as_of = latest
        if self.count % self.step == 0:
            _set_progress(self, min(95, 5 + 90 * self.count // max(self.total, 1)))

    def source(self, **extra) -> dict:
        return {
            "comments": self.count,
            "organisations": len(self.organisations),
            "rounds": sorted(self.rounds),
            "by_type": dict(self.by_type),
            "by_status": dict(self.by_status),
            **extra,
        }


def _has_disposition(comment: Comment) -> bool:
    try:
        comment.disposition  # noqa: B018 - select_related: no query
    except Comment.disposition.RelatedObjectDoesNotExist:
        return False
    return True


def _set_progress(tally: _Tally, progress: int) -> None:
    jobs.renew(Report, tally.report_id, tally.attempt, progress=progress)


def _tracked(comments: Iterable[Comment], tally: _Tally) -> Iterator[Comment]:
    for comment in comments:
        tally.see(comment)
        yield comment


def _tracked_values(rows: Iterable[Sequence], tally: _Tally) -> Iterator[Sequence]:
    see = tally.see_values
    m = matrix
    for row in rows:
        decided_at = row[m.DECIDED_AT] if row[m.DECISION] else None
        see(row[m.TYPE], row[m.STATUS], row[m.ORGANISATION_ID], row[m.ROUND_ID], row[m.UPDATED_AT], decided_at)
        yield row


def _file_name(report: Report) -> str:
    """The stored name, in ASCII (downloads are named with the words: naming.report_download_name)."""
    return report_storage_name(report)


def _comments_for(report: Report, tally_factory) -> tuple[Iterator[Comment], _Tally]:
    qs = selectors_reports.exported_comments(
        user=report.requested_by, consultation=report.consultation, engagement_round=report.round
    )
    tally = tally_factory(qs.count())
    return _tracked(qs.iterator(chunk_size=selectors_reports.CHUNK_SIZE), tally), tally


def _make_matrix(report: Report, path: str, tally_factory) -> dict:
    """The matrix, streamed: by COPY of its finished cells on PostgreSQL, else from values on a server-side cursor.

    On PostgreSQL the database makes the cells (matrix.matrix_cells) and COPY hands them over
    while the file is written: the CSV as the very lines COPY sends, the XLSX from one tuple of
    texts per row. What the report records comes from one aggregate (export_summary). Either
    way: a fixed number of queries and one row in memory at a time, whatever the size.
    """
    qs = selectors_reports.exported_comments(
        user=report.requested_by, consultation=report.consultation, engagement_round=report.round
    )
    anchors = selectors_reports.export_anchors(consultation=report.consultation, engagement_round=report.round)
    if not selectors_reports.copy_available():
        return _make_matrix_from_values(report, qs, path, tally_factory, anchors)
    summary = selectors_reports.export_summary(qs)
    organisations = matrix.organisation_cells(summary.organisation_names, formula_safe=report.format == Format.CSV)
    tally = tally_factory(summary.comments)
    # While COPY streams, its connection can run nothing else: progress goes out on another one,
    # and a writer that fails midway closes the stream at once (COPY cancelled, the connection
    # free again to record the failure).
    with selectors_reports.export_tables(anchors, organisations), _ProgressWriter(tally) as progress:
        if report.format == Format.CSV:
            csv_lines = selectors_reports.copy_csv_lines(matrix.matrix_cells(qs, formula_safe=True))
            with closing(csv_lines), open(path, "wb", buffering=1 << 20) as fileobj:
                matrix.write_matrix_csv_lines(progress.counted(csv_lines), fileobj)
        else:
            rows = selectors_reports.copy_text_rows(matrix.matrix_cells(qs, formula_safe=False))
            with closing(rows):
                matrix.write_matrix_xlsx(progress.counted(rows), path, cleaned=True, info=_matrix_info(report))
    return {"as_of": summary.as_of, "source": summary.source()}


def _matrix_info(report: Report) -> matrix.MatrixInfo:
    """What the matrix's header block and properties name: the consultation, the round and its version, the date."""
    engagement_round = report.round
    if engagement_round is not None:
        version = _("Version %(number)s") % {"number": engagement_round.version.number}
    else:  # every round: the versions they were on, so that the block's Version line is not left empty
        numbers = list(
            dict.fromkeys(
                report.consultation.rounds.order_by("opens_at", "id").values_list("version__number", flat=True)
            )
        )
        version = ", ".join(_("Version %(number)s") % {"number": number} for number in numbers if number)
    return matrix.MatrixInfo(
        consultation=report.consultation.title,
        version=version,
        engagement_round=engagement_round.title if engagement_round else _("All rounds"),
        as_of=timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
    )


class _ProgressWriter:
    """The report's progress, written every tally.step rows by a thread of its own (its own connection).

    Used while the rows come by COPY: until the last row, the export's connection is in COPY
    mode and can run no other statement. A failed write is logged and the export goes on (the
    lease has its own heartbeat: config.jobs.lease).
    """

    def __init__(self, tally: _Tally):
        self.tally = tally
        self.values: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=f"progress-report-{tally.report_id}", daemon=True)

    def __enter__(self) -> _ProgressWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.values.put(None)
        self.thread.join()

    def _run(self) -> None:
        try:
            while (value := self.values.get()) is not None:
                try:
                    _set_progress(self.tally, value)
                except Exception:
                    logger.warning("Progress of report %s not written", self.tally.report_id, exc_info=True)
        finally:
            db_connection.close()  # this thread's own connection

    def counted(self, rows: Iterable) -> Iterator:
        """The rows as they come; every tally.step of them, their share of the whole goes to the thread."""
        step, total, put = self.tally.step, max(self.tally.total, 1), self.values.put
        for number, row in enumerate(rows, start=1):
            if number % step == 0:
                put(min(95, 5 + 90 * number // total))
            yield row


def _make_matrix_from_values(report: Report, qs, path: str, tally_factory, anchors: dict) -> dict:
    """The matrix from plain values on a server-side cursor: one query, no model instances, whatever the size."""
    tally = tally_factory(qs.count())
    supporters = selectors_reports.export_supporters(consultation=report.consultation, engagement_round=report.round)
    values = qs.values_list(*matrix.FIELDS).iterator(chunk_size=selectors_reports.CHUNK_SIZE)
    rows = matrix.matrix_rows(_tracked_values(values, tally), anchors, supporters)
    if report.format == Format.CSV:
        with open(path, "w", encoding="utf-8-sig", newline="") as textfile:
            matrix.write_matrix_csv(rows, textfile)
    else:
        matrix.write_matrix_xlsx(rows, path, info=_matrix_info(report))
    return {"as_of": tally.as_of, "source": tally.source()}


def _make_feedback(report: Report, path: str, tally_factory) -> dict:
    engagement_round = report.round
    if engagement_round is None:  # report_request requires one; a report made some other way may lack it
        raise ValidationError(_("Choose the round whose feedback to consolidate."))
    comments, tally = _comments_for(report, tally_factory)
    with open(path, "wb") as fileobj:
        write_feedback_docx(
            title=str(_("Consolidated feedback: %(title)s") % {"title": report.consultation.title}),
            subtitle=feedback_subtitle(
                round_title=engagement_round.title, version_number=engagement_round.version.number
            ),
            sections=selectors_reports.feedback_sections(version=engagement_round.version).iterator(
                chunk_size=selectors_reports.CHUNK_SIZE
            ),
            comments=comments,
            fileobj=fileobj,
        )
    return {"as_of": tally.as_of, "source": tally.source(version=engagement_round.version.number)}


def _make_revision_report(report: Report, path: str, tally_factory) -> dict:
    version = report.version
    if version is None:  # report_request requires one; a report made some other way may lack it
        raise ValidationError(_("Choose the version whose revision report to make."))
    write = REVISION_WRITERS[report.format]
    job = tally_factory(0)  # 5%
    data = revision_report(user=report.requested_by, version=version)
    jobs.renew(Report, job.report_id, job.attempt, progress=PROGRESS_GATHERED)
    with open(path, "wb") as fileobj:
        write(data, fileobj, on_progress=stepped(job.report_id, job.attempt, start=PROGRESS_GATHERED))
    # The stats go into a JSONField: whatever they hold, keep what JSON can say.
    stats = json.loads(json.dumps(getattr(data, "stats", None) or {}, default=str))
    return {"as_of": getattr(data, "as_of", None), "source": {"version": version.number, **stats}}


MAKERS: dict[str, Callable[[Report, str, Callable[[int], _Tally]], dict]] = {
    Kind.RESOLUTION_MATRIX: _make_matrix,
    Kind.CONSOLIDATED_FEEDBACK: _make_feedback,
    Kind.REVISION_REPORT: _make_revision_report,
}

# The draft itself, line-numbered (services.draft_exports): its kinds, formats, checks and maker.
FORMATS_BY_KIND.update(draft_exports.DRAFT_FORMATS)
MAKERS.update(draft_exports.DRAFT_MAKERS)


def _audit_failed(report_id: int, message: str) -> None:
    report = Report.objects.select_related("consultation").get(pk=report_id)
    audit_log(
        actor=None,
        action="report.failed",
        target=report,
        consultation=report.consultation,
        data={"error": str(message)},
    )


def _fail(report_id: int, attempt: int, message: str) -> None:
    failed = jobs.held(Report, report_id, attempt).update(
        status=JobStatus.FAILED, error=message, finished_at=timezone.now(), lease_expires_at=None
    )
    if failed:
        _audit_failed(report_id, message)


def report_fail(*, report_id: int, error: str) -> None:
    """Fail an unfinished report (the job sweep gives up on it)."""
    failed = Report.objects.filter(pk=report_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), lease_expires_at=None
    )
    if failed:
        _audit_failed(report_id, error)


def report_generate(*, report_id: int) -> Report | None:
    """Make (or make again) a report's file. Returns None when another live run has it or it is gone."""
    attempt = jobs.claim(Report, report_id, finished_at=None, progress=0, error="")
    if attempt is None:
        return None
    with jobs.lease(Report, report_id, attempt):
        return _generate(report_id, attempt)


def _generate(report_id: int, attempt: int) -> Report:
    report = Report.objects.select_related("consultation", "round__version", "version", "requested_by").get(
        pk=report_id
    )
    requester = report.requested_by
    if not requester.is_active or not requester.has_perm("consolidation.export", report.consultation):
        _fail(report_id, attempt, _("The person who asked for this report no longer takes part in the consultation."))
        return Report.objects.get(pk=report_id)

    def tally_factory(total: int) -> _Tally:
        tally = _Tally(report_id=report_id, attempt=attempt, total=total)
        _set_progress(tally, 5)
        return tally

    language = report.source.get("language") or settings.LANGUAGE_CODE
    with tempfile.TemporaryDirectory(prefix="report-") as workdir:
        path = os.path.join(workdir, "report." + report.format)
        try:
            with translation.override(language):
                made = MAKERS[report.kind](report, path, tally_factory)
        except ValidationError as exc:
            _fail(report_id, attempt, " ".join(exc.messages))
            return Report.objects.get(pk=report_id)
        except (OperationalError, InterfaceError):
            raise  # the database went away: the lease gives the report back and the task retries
        except Exception:
            logger.exception("Report %s could not be made", report_id)
            _fail(report_id, attempt, _("The report could not be made. Ask for it again, or tell the secretariat."))
            return Report.objects.get(pk=report_id)
        _store(report, path, attempt=attempt, **made)
    return Report.objects.get(pk=report_id)


def _store(report: Report, path: str, *, attempt: int, as_of, source: dict) -> None:
    """Put the file in storage, then record it, if this run still holds the report."""
    old_name = report.file.name
    with open(path, "rb") as fileobj:
        report.file.save(_file_name(report), File(fileobj), save=False)
    size = os.path.getsize(path)
    recorded = jobs.held(Report, report.pk, attempt).update(
        lease_expires_at=None,
        status=JobStatus.DONE,
        progress=100,
        file=report.file.name,
        size=size,
        as_of=as_of,
        source={**source, "language": report.source.get("language", "")},
        finished_at=timezone.now(),
        error="",
    )
    storage = report.file.storage
    if recorded:
        audit_log(
            actor=None, action="report.done", target=report, consultation=report.consultation, data={"size": size}
        )
    if not recorded and report.file.name:
        # Another run took over meanwhile; its file wins.
        storage.delete(report.file.name)
    elif old_name and old_name != report.file.name:
        storage.delete(old_name)


def report_download_record(*, actor, report: Report) -> None:
    """Someone took a copy of a report's file: an export leaving the platform is on the record."""
    audit_log(
        actor=actor,
        action="report.downloaded",
        target=report,
        consultation=report.consultation,
        data={"kind": report.kind, "format": report.format, "file": os.path.basename(report.file.name or "")},
    )
