"""Offline comment templates brought back in: the secretariat imports a delegation's filled XLSX.

import_request checks the actor, the organisation and the file (size before anything is
read, then that it really is an XLSX workbook), stores it and queues import_execute.
import_execute reads every row and checks it with the same rules as comments typed on the
site (comments.services: type, lengths, NUL, language; comments.anchoring: the quoted passage
must be in the clause's text), and with the rules a secretariat expects of a file it imports
for one organisation:

- the Organisation (or MB/NC) cell is blank or names that organisation (its name, short name
  or country code; case, spaces and punctuation aside): a row for Thailand is never filed as
  Viet Nam's;
- the file is not an export of the resolution matrix: a "No." that is one of this
  consultation's comment numbers, or a filled Status, National position, Moderation or
  Imported by column (only the export fills them), is refused;
- no row repeats another row of the file, or a comment the organisation already has in the
  round (same clause, type, comment and proposed change): importing a file twice is refused;
- no cell holds a formula or an error value (#NAME?, #REF!...): what a spreadsheet shows for
  a formula is what the last program to save the file computed, not what the delegation typed.

One bad row and nothing is imported: the job fails with the list of errors, each with the row
number Excel shows, the column, and a message that names both ("Row 7, column B: ...").
Otherwise every row becomes a submitted comment of the organisation, in one transaction, in
which the duplicate check is repeated under a lock (two imports of one file at once).

Imported comments are written by the secretariat on behalf of the organisation, also after
the round has closed, so this is not comment_create (which checks that the author's own
organisation is commenting in an open round); it shares its checks instead.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import get_column_letter

from accounts.models import Organisation
from audit.services import audit_log
from comments.anchoring import anchor_check
from comments.models import Comment, CommentRevision

# The very checks comment_create applies to text typed on the site.
from comments.services import check_language, check_text, check_type, revision_of
from config import jobs
from config.jobs import enqueue_after_commit
from config.text import clean_name, clean_text
from consultations.line_numbers import paragraphs
from consultations.models import EngagementRound, Participation, Section

from ..documents.matrix import SHEET_TITLE, paragraph_label
from ..models import ImportJob, JobStatus
from ..template_columns import BY_KEY, EXPORT_ONLY_KEYS, header_index

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
    # Shown on pages: no bidi overrides or zero-width characters ("evil\u202exslx.exe").
    name = clean_name(os.path.basename(getattr(upload, "name", "") or ""))[:255] or "template.xlsx"
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
        enqueue_after_commit("consolidation.tasks.import_template", job.pk, job=job)
    return job


# --- reading and checking the rows --------------------------------------------------------

# What a spreadsheet shows when a formula fails; typed as text, it is not a comment either.
ERROR_VALUES = frozenset(ERROR_CODES) | {
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
}
# The platform's comment numbers (Comment.number), as its matrix export writes them in "No.".
PLATFORM_NUMBER_RE = re.compile(r"^C(\d{1,18})$")


@dataclass
class _Row:
    number: int  # as Excel shows it
    section: Section
    comment_type: str
    body: str
    proposed_change: str
    language: str
    anchor: dict

    @property
    def key(self) -> tuple:
        return _content_key(self.section.pk, self.comment_type, self.body, self.proposed_change)


def _content_key(section_id: int, comment_type: str, body: str, proposed_change: str) -> tuple:
    """What makes two comments the same one: clause, type, comment and proposed change, spacing aside."""
    return (section_id, comment_type, " ".join(body.split()), " ".join(proposed_change.split()))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


def _clause_number(value) -> str:
    # A clause typed into a cell Excel took for a number comes back as 2.3 (float): same text.
    return _text(value).strip().rstrip(".").strip()


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _error(row: int | None, key: str | None, message: str, letters: dict[str, str] | None = None) -> dict:
    """One refusal: the row Excel shows, the column's header and letter, and a message that names both."""
    letter = (letters or {}).get(key, "") if key else ""
    if row is not None and letter:
        text = _("Row %(row)s, column %(column)s: %(message)s") % {"row": row, "column": letter, "message": message}
    elif row is not None:
        text = _("Row %(row)s: %(message)s") % {"row": row, "message": message}
    else:
        text = str(message)
    error = {"row": row, "column": BY_KEY[key].header if key else "", "message": text}
    if letter and row is not None:
        error["cell"] = f"{letter}{row}"
    return error


def _short(value, length: int = 60) -> str:
    text = clean_name(_text(value))
    return text if len(text) <= length else text[: length - 1] + "…"


def _name_key(value: str) -> str:
    """Names compared as a person reads them: case, spaces and punctuation aside ("Viet Nam" is "VIET-NAM")."""
    return re.sub(r"[\W_]+", "", clean_name(value).casefold())


def _names_of(organisation: Organisation) -> set[str]:
    names = {organisation.name, organisation.short_name, organisation.country_code}
    return {_name_key(name) for name in names if name and _name_key(name)}


class _Checker:
    """Checks the rows of one workbook against one import: the organisation, the round, what exists."""

    def __init__(self, job: ImportJob, letters: dict[str, str]):
        self.job = job
        self.organisation = job.organisation
        self.org_names = _names_of(job.organisation)
        self.version_number = job.round.version.number
        self.sections = _sections_by_number(job.round.version)
        self.letters = letters
        self.errors: list[dict] = []
        self.good: list[_Row] = []
        self.first_row_of: dict[tuple, int] = {}
        self.platform_numbers: dict[int, int] = {}  # comment pk -> row

    def error(self, row: int | None, key: str | None, message: str) -> None:
        self.errors.append(_error(row, key, message, self.letters))

    def unreadable_cells(self, number: int, cells: dict) -> set[str]:
        """Cells holding a formula or an error value: their shown value is not what the delegation typed."""
        bad = set()
        for key, cell in cells.items():
            if cell is None:
                continue
            if cell.data_type == "f":
                formula = cell.value if isinstance(cell.value, str) else "=" + str(getattr(cell.value, "text", ""))
                self.error(
                    number,
                    key,
                    _(
                        "this cell holds a formula (%(formula)s), not text. Replace it with the text itself "
                        "(copy the cell, then paste values only)."
                    )
                    % {"formula": _short(formula, 40)},
                )
                bad.add(key)
            elif cell.data_type == "e" or (isinstance(cell.value, str) and cell.value.strip() in ERROR_VALUES):
                self.error(
                    number,
                    key,
                    _("this cell holds the spreadsheet error %(error)s, not text. Type the text itself.")
                    % {"error": _short(cell.value, 20)},
                )
                bad.add(key)
        return bad

    def check_organisation(self, number: int, value) -> None:
        named = _short(value, 80)
        if not named or _name_key(named) in self.org_names:
            return  # blank: the row is for the organisation the import is for
        self.error(
            number,
            "organisation",
            _(
                "this row is for %(named)s but the import is for %(organisation)s. Import each organisation's rows "
                "in a file of its own."
            )
            % {"named": named, "organisation": self.organisation.name},
        )

    def check_export_marks(self, number: int, values: dict) -> None:
        """Only the platform's matrix export fills comment numbers and the status columns."""
        match = PLATFORM_NUMBER_RE.match(_text(values.get("number")).strip())
        if match:
            self.platform_numbers.setdefault(int(match.group(1)), number)
        for key in EXPORT_ONLY_KEYS:
            if _text(values.get(key)).strip():
                self.error(
                    number,
                    key,
                    _(
                        "the column “%(column)s” is filled only in the platform's export of the comment "
                        "resolution matrix. An export cannot be imported: import the template the delegation filled."
                    )
                    % {"column": BY_KEY[key].header},
                )
                return

    def check_platform_numbers(self) -> None:
        """Rows numbered like the platform's own comments of this consultation are an export."""
        if not self.platform_numbers:
            return
        found = Comment.objects.filter(
            pk__in=list(self.platform_numbers), round__consultation_id=self.job.round.consultation_id
        ).values_list("pk", flat=True)
        for pk in sorted(found, key=lambda pk: self.platform_numbers[pk]):
            self.error(
                self.platform_numbers[pk],
                "number",
                _(
                    "this row is comment C%(number)s exported from the platform. An export of the comment "
                    "resolution matrix cannot be imported: import the template the delegation filled."
                )
                % {"number": pk},
            )
        self.errors.sort(key=lambda error: error["row"] or 0)

    def check_repeats(self, row: _Row) -> None:
        first = self.first_row_of.setdefault(row.key, row.number)
        if first != row.number:
            self.error(
                row.number,
                "comment",
                _("this row repeats row %(first)s (same clause, type, comment and proposed change).")
                % {"first": first},
            )

    def check_existing(self) -> None:
        for row, comment_number in existing_duplicates(self.job, self.good):
            self.error(
                row.number,
                "comment",
                _already_there(self.organisation, comment_number),
            )
        self.errors.sort(key=lambda error: error["row"] or 0)

    def check_row(self, number: int, cells: dict) -> None:
        found_errors = len(self.errors)
        bad = self.unreadable_cells(number, cells)
        values = {key: (None if key in bad or cell is None else cell.value) for key, cell in cells.items()}
        if "organisation" not in bad:
            self.check_organisation(number, values.get("organisation"))
        self.check_export_marks(number, values)
        clause = _clause_number(values.get("clause"))
        section = self.sections.get(clause)
        if "clause" in bad:
            pass
        elif not clause:
            self.error(number, "clause", _("Give the clause number."))
        elif section is None:
            self.error(
                number,
                "clause",
                _("There is no clause %(clause)s in version %(version)s.")
                % {"clause": clause, "version": self.version_number},
            )
        comment_type = _text(values.get("type")).strip().lower()
        if "type" not in bad:
            try:
                check_type(comment_type)
            except ValidationError as exc:
                self.error(number, "type", _message(exc))
        body = proposed_change = language = ""
        if "comment" not in bad:
            try:
                body = check_text("body", _text(values.get("comment")).strip(), required=True, label=_("The comment"))
            except ValidationError as exc:
                self.error(number, "comment", _message(exc))
        if "proposed_change" not in bad:
            try:
                proposed_change = check_text(
                    "proposed_change",
                    _text(values.get("proposed_change")).strip(),
                    required=False,
                    label=_("The proposed change"),
                )
            except ValidationError as exc:
                self.error(number, "proposed_change", _message(exc))
        if "language" not in bad:
            try:
                language = check_language(_text(values.get("language")))
            except ValidationError as exc:
                self.error(number, "language", _message(exc))
        anchor: dict[str, str | int | None] = {
            "quote_exact": "",
            "quote_prefix": "",
            "quote_suffix": "",
            "position_start": None,
            "position_end": None,
        }
        # The template's layout: the quoted passage in its own column, Paragraph/Figure/Table a reference
        # ("Para. 2", "Table 1"). A file of the earlier layout has the quote in Paragraph/Figure/Table.
        quote_key = "quote" if "quote" in self.letters else "paragraph"
        quote = _text(values.get(quote_key)).strip()
        reference = _text(values.get("paragraph")).strip() if quote_key == "quote" else ""
        if quote and section is not None and quote_key not in bad:
            try:
                quote = check_text("quote_exact", quote, required=False, label=_("The quoted passage"))
                checked = anchor_check(section.body, exact=quote)
            except ValidationError as exc:
                self.error(number, quote_key, _message(exc))
            else:
                anchor = _anchor_of(checked)
        elif reference and section is not None and "paragraph" not in bad:
            index = paragraph_number(reference)
            spans = paragraphs(section.body)
            if index is not None and 1 <= index <= len(spans):
                start, end = spans[index - 1]
                anchor = _anchor_of(anchor_check(section.body, exact=section.body[start:end], start=start, end=end))
            elif index is not None:
                self.error(
                    number,
                    "paragraph",
                    _("Clause %(clause)s has no paragraph %(number)s.") % {"clause": clause, "number": index},
                )
            else:
                # "Table 1", "Figure 3", "NOTE 2": kept with the comment, which is on the whole clause.
                body = f"[{reference}] {body}" if body else body
        if section is None or len(self.errors) > found_errors:  # no section: its error is recorded above
            return
        row = _Row(number, section, comment_type, body, proposed_change, language, anchor)
        self.check_repeats(row)
        if len(self.errors) == found_errors:
            self.good.append(row)


def _already_there(organisation: Organisation, comment_number: str) -> str:
    return _(
        "this comment is already in the round for %(organisation)s as %(comment)s (same clause, type, "
        "comment and proposed change). Was this file imported before?"
    ) % {"organisation": organisation.name, "comment": comment_number}


def existing_duplicates(job: ImportJob, rows: list[_Row]) -> list[tuple[_Row, str]]:
    """Rows that are already comments of the job's organisation in its round (not withdrawn), with their number."""
    if not rows:
        return []
    existing = (
        Comment.objects.filter(
            round_id=job.round_id,
            organisation_id=job.organisation_id,
            section_id__in={row.section.pk for row in rows},
        )
        .exclude(status=Comment.Status.WITHDRAWN)
        .values_list("pk", "section_id", "type", "body", "proposed_change")
        .iterator(chunk_size=2000)
    )
    numbers: dict[tuple, str] = {}
    for pk, section_id, comment_type, body, proposed_change in existing:
        numbers.setdefault(_content_key(section_id, comment_type, body, proposed_change), f"C{pk}")
    return [(row, numbers[row.key]) for row in rows if row.key in numbers]


def _anchor_of(checked) -> dict:
    return {
        "quote_exact": checked.exact,
        "quote_prefix": checked.prefix,
        "quote_suffix": checked.suffix,
        "position_start": checked.start,
        "position_end": checked.end,
    }


# "Para. 2", "para 2", "Paragraph 2", "¶ 2", "2": a paragraph of the clause (and the translated "Para. %(number)s").
_PARAGRAPH_RE = re.compile(r"^(?:(?:para(?:graph)?|§|¶)\.?\s*)?(\d{1,4})\.?$", re.IGNORECASE)


def paragraph_number(reference: str) -> int | None:
    """The paragraph a Paragraph/Figure/Table cell names, or None when it names something else (a table...)."""
    text = " ".join(reference.split())
    match = _PARAGRAPH_RE.match(text)
    if match:
        return int(match.group(1))
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            before, _sep, after = paragraph_label().partition("%(number)s")
        if before and text.casefold().startswith(before.casefold()) and text.casefold().endswith(after.casefold()):
            middle = text[len(before) : len(text) - len(after)].strip()
            if middle.isdigit():
                return int(middle)
    return None


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


def _values(cells) -> list:
    return [getattr(cell, "value", None) for cell in cells or ()]


def read_rows(job: ImportJob) -> tuple[list[_Row], list[dict], int]:
    """Every row of the job's workbook, checked: (good rows, errors, rows read).

    The workbook is read with its formulas (data_only=False): a cell's cached value is what
    the last program to save the file computed ("#NAME?" in LibreOffice for an Excel-only
    function), never what the delegation typed, so a formula is refused, not imported.
    """
    with job.file.open("rb") as fileobj:
        workbook = load_workbook(fileobj, read_only=True, data_only=False)
        try:
            sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
            rows = sheet.iter_rows()
            top = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            header_row = _find_header([_values(cells) for cells in top])
            if header_row is None:
                return [], [_error(1, None, _("The workbook has no header row. Start from the comment template."))], 0
            columns, missing = header_index(_values(top[header_row - 1]))
            letters = {key: get_column_letter(index + 1) for key, index in columns.items()}
            checker = _Checker(job, letters)
            body_rows = itertools.chain(top[header_row:], rows)
            if missing:
                for column in missing:
                    checker.errors.append(
                        {
                            "row": header_row,
                            "column": column.header,
                            "message": _(
                                "The column “%(column)s” is missing or renamed. Keep the headers of the template."
                            )
                            % {"column": column.header},
                        }
                    )
                return [], checker.errors, 0
            count = 0
            limit = max_rows()
            for number, row_cells in enumerate(body_rows, start=header_row + 1):
                row_cells = row_cells or ()
                cells = {key: row_cells[index] if index < len(row_cells) else None for key, index in columns.items()}
                if not any(_text(getattr(cells.get(key), "value", None)).strip() for key in CONTENT_FIELDS):
                    continue
                count += 1
                if count > limit:
                    checker.error(number, None, _("A template holds at most %(max)s comments.") % {"max": f"{limit:,}"})
                    break
                checker.check_row(number, cells)
                if count % PROGRESS_EVERY == 0:
                    _set_progress(job.pk, min(80, 5 + count // PROGRESS_EVERY))
        finally:
            workbook.close()
    if count == 0 and not checker.errors:
        checker.error(header_row + 1, None, _("The template has no comments in it."))
    checker.check_platform_numbers()
    checker.check_existing()
    return checker.good, checker.errors, count


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


def _audit_failed(job_id: int, errors: list[dict]) -> None:
    job = ImportJob.objects.select_related("round__consultation").get(pk=job_id)
    audit_log(
        actor=None,
        action="import.failed",
        target=job,
        consultation=job.round.consultation,
        data={"organisation": job.organisation_id, "file": job.file_name, "errors": len(errors)},
    )


def import_fail(*, job_id: int, error: str) -> None:
    """Fail an unfinished import (the job sweep gives up on it)."""
    errors = [_error(None, None, error)]
    failed = ImportJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED,
        errors=errors,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if failed:
        _audit_failed(job_id, errors)


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
    _audit_failed(job_id, errors)
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


def _recheck_duplicates(job: ImportJob, rows: list[_Row]) -> list[dict]:
    """Under a lock on the organisation: the duplicates a concurrent import of the same file created meanwhile.

    FOR NO KEY UPDATE serialises imports for one organisation without blocking its delegates'
    own comments (their foreign key checks take FOR KEY SHARE, which it does not conflict with).
    """
    Organisation.objects.select_for_update(no_key=True).filter(pk=job.organisation_id).first()
    return [
        _error(row.number, None, _already_there(job.organisation, number))
        for row, number in existing_duplicates(job, rows)
    ]


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
        repeated = _recheck_duplicates(job, rows)
        if repeated:
            return _fail(job_id, repeated, row_count)
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
