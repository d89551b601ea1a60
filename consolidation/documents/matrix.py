"""The comment resolution matrix, in the ISO/IEC comment template columns, as XLSX or CSV.

The writers take rows as they come (an iterator over a database cursor) and write them to a
file object one by one: the XLSX workbook is openpyxl's write-only kind, which keeps no
cells in memory, and the CSV is written line by line. Headers come from
consolidation.template_columns, always in English (see there why). Every text cell goes
through config.text.xml_text (XLSX and CSV alike), so what was stored before input was
cleaned cannot break a file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from comments.models import Comment
from config.text import spreadsheet_text, visible_controls, xml_text

from ..template_columns import COLUMNS, HEADERS

SHEET_TITLE = "Comments"
TEXT_FORMAT = "@"
# Columns Excel must keep as text: "1.10" is a clause number, not the number 1.1.
TEXT_COLUMNS = {"number", "clause"}
WRAP_COLUMNS = {"paragraph", "comment", "proposed_change", "observations"}


def _person(user) -> str:
    if user is None:
        return ""
    return visible_controls(user.full_name or user.email)


def observations(comment: Comment) -> str:
    """The secretariat's decided disposition: "Decision: response". Proposals are internal and left out."""
    try:
        disposition = comment.disposition
    except Comment.disposition.RelatedObjectDoesNotExist:
        return ""
    if not disposition.decision:
        return ""
    decision = disposition.get_decision_display()
    if disposition.response:
        return _("%(decision)s: %(response)s") % {"decision": decision, "response": disposition.response}
    return str(decision)


def moderation(comment: Comment) -> str:
    flags = []
    if comment.is_hidden:
        flags.append(_("hidden"))
    if getattr(comment, "is_flagged", False):
        flags.append(_("flagged"))
    return ", ".join(str(flag) for flag in flags)


def matrix_row(comment: Comment) -> list[str]:
    """One comment as the matrix's cells, in COLUMNS order."""
    values = {
        "number": comment.number,
        # Names show their bidi controls and zero-width characters (config.text.visible_controls).
        "organisation": visible_controls(comment.organisation.name),
        "clause": comment.section.number,
        "paragraph": comment.quote_exact,
        "type": comment.type,
        "comment": comment.body,
        "proposed_change": comment.proposed_change,
        "observations": observations(comment),
        "status": str(comment.get_status_display()),
        "national_position": str(_("yes") if comment.is_endorsed else _("no")),
        "moderation": moderation(comment),
        "language": comment.language,
        "imported_by": _person(comment.imported_by),
    }
    return [values[column.key] for column in COLUMNS]


def matrix_rows(comments: Iterable[Comment]) -> Iterator[list[str]]:
    for comment in comments:
        yield matrix_row(comment)


# --- XLSX ---------------------------------------------------------------------------------


def _new_sheet(workbook):
    sheet = workbook.create_sheet(SHEET_TITLE)
    # Write-only sheets take layout before the first row, never after.
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", start_color="DDE4EE")
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = header_font
        cell.fill = header_fill
        header.append(cell)
    sheet.append(header)
    return sheet


def _cell(sheet, key: str, value):
    cell = WriteOnlyCell(sheet, value=xml_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        # A comment that starts with "=" is text, not a formula to run when the file is opened.
        cell.data_type = "s"
    if key in TEXT_COLUMNS:
        cell.number_format = TEXT_FORMAT
    if key in WRAP_COLUMNS:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def write_matrix_xlsx(rows: Iterable[Sequence], fileobj) -> None:
    """Write the header and the rows to `fileobj` (a path or a binary file) as a write-only workbook."""
    workbook = Workbook(write_only=True)
    sheet = _new_sheet(workbook)
    keys = [column.key for column in COLUMNS]
    for row in rows:
        sheet.append([_cell(sheet, key, value) for key, value in zip(keys, row, strict=True)])
    workbook.save(fileobj)


def write_template_xlsx(fileobj) -> None:
    """The empty template a delegation fills offline: the same header, Clause kept as text."""
    workbook = Workbook(write_only=True)
    sheet = _new_sheet(workbook)
    # Pre-formatted empty rows, so that a clause typed as 1.10 stays "1.10" and not the number 1.1.
    text_indexes = {index for index, column in enumerate(COLUMNS) if column.key in TEXT_COLUMNS}
    for _row in range(200):
        cells = []
        for index, column in enumerate(COLUMNS):
            cell = WriteOnlyCell(sheet, value=None)
            if index in text_indexes:
                cell.number_format = TEXT_FORMAT
            if column.key in WRAP_COLUMNS:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        sheet.append(cells)
    workbook.save(fileobj)


# --- CSV ----------------------------------------------------------------------------------


def write_matrix_csv(rows: Iterable[Sequence], textfile) -> None:
    """Write to a text file opened with encoding="utf-8-sig" and newline="": the BOM tells Excel it is UTF-8."""
    writer = csv.writer(textfile)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([spreadsheet_text(value) for value in row])
