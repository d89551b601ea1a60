"""Offline comment templates brought back in: the secretariat imports a delegation's filled XLSX.

import_request checks the actor, the organisation and the file (size before anything is
read, then that it really is an XLSX workbook), stores it and queues import_execute.
import_execute reads every row and checks it with the same rules as comments typed on the
site (comments.services: type, lengths, NUL, language; comments.anchoring: the quoted passage
must be in the clause's text). One bad row and nothing is imported: the job fails with the
list of errors, each with the row number Excel shows and the column. Otherwise every row
becomes a submitted comment of the organisation, in one transaction.

Imported comments are written by the secretariat on behalf of the organisation, also after
the round has closed, so this is not comment_create (which checks that the author's own
organisation is commenting in an open round); it shares its checks instead.
"""

from __future__ import annotations

import itertools
import logging
import os
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from accounts.models import Organisation
from audit.services import audit_log
from comments.anchoring import anchor_check
from comments.models import Comment, CommentRevision

# The very checks comment_create applies to text typed on the site.
from comments.services import check_language, check_text, check_type, revision_of
from config import jobs
from config.jobs import enqueue_after_commit
from consultations.models import EngagementRound, Participation, Section

from ..documents.matrix import SHEET_TITLE
from ..models import ImportJob, JobStatus
from ..template_columns import BY_KEY, header_index

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 5_000
# A workbook is a zip: refuse one that would unpack to far more than any real template (zip bomb).
MAX_INFLATION = 20
# The header is the first non-empty row among the first few (some templates carry a title above).
HEADER_SEARCH_ROWS = 10
MAX_STORED_ERRORS = 1_000
PROGRESS_EVERY = 100
XLSX_CONTENT_TYPES = (
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
)
CONTENT_FIELDS = ("clause", "paragraph", "type", "comment", "proposed_change")


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


# --- the upload ---------------------------------------------------------------------------


def _not_xlsx() -> ValidationError:
    return ValidationError(
        {"upload": _("This is not an XLSX workbook. Save the template in Excel as .xlsx and upload it again.")},
        code="not_xlsx",
    )


def _upload_size(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        position = upload.tell()
        size = upload.seek(0, os.SEEK_END)
        upload.seek(position)
    return size


def check_upload(upload) -> None:
    """Refuse an upload that is too large (before reading it) or is not a real XLSX workbook."""
    size = _upload_size(upload)
    limit = max_bytes()
    if size > limit:
        raise ValidationError(
            {
                "upload": _("The file is %(size)s MB; templates of at most %(max)s MB are accepted.")
                % {"size": f"{size / 1024 / 1024:.1f}", "max": f"{limit / 1024 / 1024:.0f}"}
            },
            code="too_large",
        )
    if size == 0:
        raise _not_xlsx()
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            infos = archive.infolist()
            if sum(info.file_size for info in infos) > max(limit, size) * MAX_INFLATION:
                raise ValidationError(
                    {"upload": _("This workbook unpacks to far more data than a comment template holds.")},
                    code="too_large",
                )
            content_types = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
            if content_types is None or content_types.file_size > 1024 * 1024:
                raise _not_xlsx()
            declared = archive.read(content_types)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _not_xlsx()
    if not any(content_type in declared for content_type in XLSX_CONTENT_TYPES):
        raise _not_xlsx()
    upload.seek(0)
    try:
        workbook = load_workbook(upload, read_only=True, data_only=True)
        workbook.close()
    except Exception:  # openpyxl raises many kinds on a broken workbook
        raise _not_xlsx()
    finally:
        upload.seek(0)


def import_request(*, actor, engagement_round: EngagementRound, organisation: Organisation, upload) -> ImportJob:
    """Check and store an offline template for `organisation`, then queue its import."""
    consultation = engagement_round.consultation
    if not actor.has_perm("consultations.view_consultation", consultation):
        raise Http404
    if not actor.has_perm("consolidation.import_template", consultation):
        raise PermissionDenied(_("Only the secretariat imports comment templates."))
    if not Participation.objects.filter(consultation=consultation, organisation=organisation).exists():
        raise ValidationError({"organisation": _("This organisation does not take part in the consultation.")})
    check_upload(upload)
    name = os.path.basename(getattr(upload, "name", "") or "template.xlsx")[:255]
    with transaction.atomic():
        job = ImportJob(
            round=engagement_round,
            organisation=organisation,
            requested_by=actor,
            file_name=name,
        )
        job.file.save(name, upload, save=False)
        job.save()
        audit_log(
            actor=actor,
            action="import.requested",
            target=job,
            consultation=consultation,
            data={"organisation": organisation.pk, "round": engagement_round.pk, "file": name},
        )
        from ..tasks.reports import import_template

        enqueue_after_commit(import_template, job.pk, job=job)
    return job


# --- reading and checking the rows --------------------------------------------------------


@dataclass
class _Row:
    number: int  # as Excel shows it
    section: Section
    comment_type: str
    body: str
    proposed_change: str
    language: str
    anchor: dict


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clause_number(value) -> str:
    # A clause typed into a cell Excel took for a number comes back as 2.3 (float): same text.
    return _text(value).strip().rstrip(".").strip()


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _error(row: int | None, key: str | None, message: str) -> dict:
    return {"row": row, "column": BY_KEY[key].header if key else "", "message": str(message)}


def _check_row(
    number: int, cells: dict, *, sections: dict[str, Section], version_number: str, errors: list
) -> _Row | None:
    found_errors = len(errors)
    clause = _clause_number(cells.get("clause"))
    section = sections.get(clause)
    if not clause:
        errors.append(_error(number, "clause", _("Give the clause number.")))
    elif section is None:
        errors.append(
            _error(
                number,
                "clause",
                _("There is no clause %(clause)s in version %(version)s.")
                % {"clause": clause, "version": version_number},
            )
        )
    comment_type = _text(cells.get("type")).strip().lower()
    try:
        check_type(comment_type)
    except ValidationError as exc:
        errors.append(_error(number, "type", _message(exc)))
    body = proposed_change = language = ""
    try:
        body = check_text("body", _text(cells.get("comment")).strip(), required=True, label=_("The comment"))
    except ValidationError as exc:
        errors.append(_error(number, "comment", _message(exc)))
    try:
        proposed_change = check_text(
            "proposed_change",
            _text(cells.get("proposed_change")).strip(),
            required=False,
            label=_("The proposed change"),
        )
    except ValidationError as exc:
        errors.append(_error(number, "proposed_change", _message(exc)))
    try:
        language = check_language(_text(cells.get("language")))
    except ValidationError as exc:
        errors.append(_error(number, "language", _message(exc)))
    anchor = {"quote_exact": "", "quote_prefix": "", "quote_suffix": "", "position_start": None, "position_end": None}
    quote = _text(cells.get("paragraph")).strip()
    if quote and section is not None:
        try:
            check_text("quote_exact", quote, required=False, label=_("The quoted passage"))
            checked = anchor_check(section.body, exact=quote)
        except ValidationError as exc:
            errors.append(_error(number, "paragraph", _message(exc)))
        else:
            anchor = {
                "quote_exact": checked.exact,
                "quote_prefix": checked.prefix,
                "quote_suffix": checked.suffix,
                "position_start": checked.start,
                "position_end": checked.end,
            }
    if len(errors) > found_errors:
        return None
    return _Row(number, section, comment_type, body, proposed_change, language, anchor)


def _sections_by_number(version) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    for section in version.sections.exclude(number="").order_by("position"):
        sections.setdefault(section.number.strip(), section)
    return sections


def _set_progress(job_id: int, progress: int) -> None:
    ImportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(progress=progress)


def _find_header(top: list) -> int | None:
    """The row (1-based) that names the most template columns; else the first non-empty one."""
    best, best_found = None, 0
    for number, values in enumerate(top, start=1):
        values = values or ()
        if not any(_text(value).strip() for value in values):
            continue
        found = len(header_index(values)[0])
        if best is None or found > best_found:
            best, best_found = number, found
    return best


def read_rows(job: ImportJob) -> tuple[list[_Row], list[dict], int]:
    """Every row of the job's workbook, checked: (good rows, errors, rows read)."""
    engagement_round = job.round
    sections = _sections_by_number(engagement_round.version)
    errors: list[dict] = []
    good: list[_Row] = []
    with job.file.open("rb") as fileobj:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
        try:
            sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            top = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            header_row = _find_header(top)
            if header_row is None:
                return [], [_error(1, None, _("The workbook has no header row. Start from the comment template."))], 0
            columns, missing = header_index(top[header_row - 1])
            rows = itertools.chain(top[header_row:], rows)
            if missing:
                for column in missing:
                    errors.append(
                        {
                            "row": header_row,
                            "column": column.header,
                            "message": _(
                                "The column “%(column)s” is missing or renamed. Keep the headers of the template."
                            )
                            % {"column": column.header},
                        }
                    )
                return [], errors, 0
            count = 0
            limit = max_rows()
            for number, values in enumerate(rows, start=header_row + 1):
                values = values or ()
                cells = {key: values[index] if index < len(values) else None for key, index in columns.items()}
                if not any(_text(cells.get(key)).strip() for key in CONTENT_FIELDS):
                    continue
                count += 1
                if count > limit:
                    errors.append(
                        _error(number, None, _("A template holds at most %(max)s comments.") % {"max": f"{limit:,}"})
                    )
                    break
                row = _check_row(
                    number,
                    cells,
                    sections=sections,
                    version_number=engagement_round.version.number,
                    errors=errors,
                )
                if row is not None:
                    good.append(row)
                if count % PROGRESS_EVERY == 0:
                    _set_progress(job.pk, min(80, 5 + count // PROGRESS_EVERY))
        finally:
            workbook.close()
    if count == 0 and not errors:
        errors.append(_error(header_row + 1, None, _("The template has no comments in it.")))
    return good, errors, count


# --- running the import -------------------------------------------------------------------


def _claim(job_id: int) -> tuple[ImportJob, int] | None:
    """Mark the job running for this attempt; None if it is gone, finished, or held by a live worker."""
    attempt = jobs.claim(ImportJob, job_id, progress=1)
    if attempt is None:
        return None
    job = (
        ImportJob.objects.select_related("round__consultation", "round__version", "organisation", "requested_by")
        .filter(pk=job_id)
        .first()
    )
    return (job, attempt) if job else None


def import_fail(*, job_id: int, error: str) -> None:
    """Fail an unfinished import (the job sweep gives up on it)."""
    ImportJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED,
        errors=[_error(None, None, error)],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )


def _fail(job_id: int, errors: list[dict], row_count: int = 0) -> ImportJob:
    stored = errors[:MAX_STORED_ERRORS]
    if len(errors) > MAX_STORED_ERRORS:
        stored.append(
            {
                "row": None,
                "column": "",
                "message": _("…and %(count)s more errors.") % {"count": len(errors) - MAX_STORED_ERRORS},
            }
        )
    ImportJob.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED,
        errors=stored,
        row_count=row_count,
        created_count=0,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    return ImportJob.objects.get(pk=job_id)


def _create(job: ImportJob, rows: list[_Row]) -> list[Comment]:
    """Write every row; the caller holds the transaction. Nothing here can refuse."""
    actor = job.requested_by
    now = timezone.now()
    comments = Comment.objects.bulk_create(
        [
            Comment(
                round=job.round,
                section=row.section,
                author=actor,
                organisation=job.organisation,
                type=row.comment_type,
                body=row.body,
                proposed_change=row.proposed_change,
                language=row.language,
                status=Comment.Status.SUBMITTED,
                submitted_at=now,
                imported_by=actor,
                **row.anchor,
            )
            for row in rows
        ],
        batch_size=500,
    )
    CommentRevision.objects.bulk_create(
        [revision_of(comment, actor=actor, action=CommentRevision.Action.CREATED) for comment in comments],
        batch_size=500,
    )
    consultation = job.round.consultation
    for comment, row in zip(comments, rows, strict=True):
        audit_log(
            actor=actor,
            action="comment.imported",
            target=comment,
            consultation=consultation,
            data={"import": job.pk, "row": row.number, "organisation": job.organisation_id},
        )
    return comments


def import_execute(*, job_id: int) -> ImportJob | None:
    """Check every row of the job's template, then import all of them or none."""
    claimed = _claim(job_id)
    if claimed is None:
        return ImportJob.objects.filter(pk=job_id).first()
    job, attempt = claimed
    with jobs.lease(ImportJob, job_id, attempt):
        return _execute(job, attempt)


def _execute(job: ImportJob, attempt: int) -> ImportJob:
    job_id = job.pk
    consultation = job.round.consultation
    actor = job.requested_by
    if not actor.is_active or not actor.has_perm("consolidation.import_template", consultation):
        return _fail(job_id, [_error(None, None, _("The person who started this import may no longer import."))])
    try:
        rows, errors, row_count = read_rows(job)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the lease gives the job back and the task retries
    except Exception:
        logger.exception("Template import %s could not be read", job_id)
        return _fail(
            job_id, [_error(None, None, _("The workbook could not be read. Save it again in Excel as .xlsx."))]
        )
    if errors:
        return _fail(job_id, errors, row_count)
    _set_progress(job_id, 85)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job_id)
        if locked.status != JobStatus.RUNNING or locked.attempts != attempt:
            return locked  # another delivery finished it meanwhile, or took it over
        created = _create(job, rows)
        locked.status = JobStatus.DONE
        locked.progress = 100
        locked.row_count = row_count
        locked.created_count = len(created)
        locked.errors = []
        locked.finished_at = timezone.now()
        locked.lease_expires_at = None
        locked.save(
            update_fields=[
                "status",
                "progress",
                "row_count",
                "created_count",
                "errors",
                "finished_at",
                "lease_expires_at",
            ]
        )
        audit_log(
            actor=actor,
            action="import.done",
            target=locked,
            consultation=consultation,
            data={"comments": len(created), "organisation": job.organisation_id},
        )
    return locked
