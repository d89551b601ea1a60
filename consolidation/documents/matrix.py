"""The comment resolution matrix, in the ISO/IEC comment template columns, as XLSX or CSV.

The rows are plain values read from a server-side cursor (FIELDS, one query, no model
instances) and turned into cells by matrix_row_maker. The writers take them as they come and
write them to a file one by one: the XLSX matrix with XlsxWriter's constant_memory mode (each
row goes to disk when the next begins; past Excel's 1,048,576 rows the matrix goes on in a
second sheet), the CSV a chunk of lines at a time. The blank template stays an openpyxl
write-only workbook. Headers come from
consolidation.template_columns, always in English (see there why). Every text cell goes
through config.text.xml_text (XLSX and CSV alike), so what was stored before input was
cleaned cannot break a file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

import xlsxwriter
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from comments.models import Comment
from config.text import spreadsheet_text, visible_controls, xml_text

from ..models import Disposition
from ..template_columns import COLUMNS, HEADERS

SHEET_TITLE = "Comments"
TEXT_FORMAT = "@"
# Columns Excel must keep as text: "1.10" is a clause number, not the number 1.1.
TEXT_COLUMNS = {"number", "clause"}
WRAP_COLUMNS = {"paragraph", "comment", "proposed_change", "observations"}
CSV_CHUNK_ROWS = 1000


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


# What one matrix row is made from: plain values read in one query (selectors_reports.matrix_values),
# no model instances. The names are values_list() paths on the exported comments' queryset.
FIELDS: tuple[str, ...] = (
    "pk",
    "organisation__name",
    "section__number",
    "quote_exact",
    "type",
    "body",
    "proposed_change",
    "disposition__decision",
    "disposition__response",
    "status",
    "is_endorsed",
    "is_hidden",
    "is_flagged",
    "language",
    "imported_by_id",
    "imported_by__full_name",
    "imported_by__email",
    # for the report's tally only (consolidation.services.exports)
    "organisation_id",
    "round_id",
    "updated_at",
    "disposition__updated_at",
)
(
    PK,
    ORGANISATION,
    CLAUSE,
    QUOTE,
    TYPE,
    BODY,
    PROPOSED_CHANGE,
    DECISION,
    RESPONSE,
    STATUS,
    ENDORSED,
    HIDDEN,
    FLAGGED,
    LANGUAGE,
    IMPORTED_BY,
    IMPORTED_BY_NAME,
    IMPORTED_BY_EMAIL,
    ORGANISATION_ID,
    ROUND_ID,
    UPDATED_AT,
    DECIDED_AT,
) = range(len(FIELDS))

assert COLUMNS[0].key == "number" and len(COLUMNS) == 13, "matrix_row_maker writes the columns in COLUMNS order"


def matrix_row_maker() -> Callable[[Sequence], list[str]]:
    """A function from one FIELDS tuple to the matrix's cells, in COLUMNS order.

    Made once per export, in the requester's language: the labels (status, decision, yes/no,
    hidden/flagged) are translated here, not once per row.
    """
    status_labels = {value: str(label) for value, label in Comment.Status.choices}
    decision_labels = {value: str(label) for value, label in Disposition.Decision.choices}
    decided_with_response = _("%(decision)s: %(response)s")
    yes, no = str(_("yes")), str(_("no"))
    hidden, flagged = str(_("hidden")), str(_("flagged"))
    hidden_and_flagged = ", ".join((hidden, flagged))
    moderation = {(False, False): "", (True, False): hidden, (False, True): flagged, (True, True): hidden_and_flagged}

    def row(values: Sequence) -> list[str]:
        decision = values[DECISION]
        if decision:
            label = decision_labels.get(decision, decision)
            response = values[RESPONSE]
            # The secretariat's decided disposition: "Decision: response". Proposals are internal and left out.
            observations = decided_with_response % {"decision": label, "response": response} if response else label
        else:
            observations = ""
        status = values[STATUS]
        if values[IMPORTED_BY] is None:
            imported_by = ""
        else:
            imported_by = visible_controls(values[IMPORTED_BY_NAME] or values[IMPORTED_BY_EMAIL])
        return [
            f"C{values[PK]}",
            # Names show their bidi controls and zero-width characters (config.text.visible_controls).
            visible_controls(values[ORGANISATION]),
            values[CLAUSE],
            values[QUOTE],
            values[TYPE],
            values[BODY],
            values[PROPOSED_CHANGE],
            observations,
            status_labels.get(status, status),
            yes if values[ENDORSED] else no,
            moderation[bool(values[HIDDEN]), bool(values[FLAGGED])],
            values[LANGUAGE],
            imported_by,
        ]

    return row


def matrix_rows(values: Iterable[Sequence]) -> Iterator[list[str]]:
    row = matrix_row_maker()
    for each in values:
        yield row(each)


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


# Excel's limit, header included: a longer matrix goes on in "Comments (2)", "Comments (3)"...
MAX_SHEET_ROWS = 1_048_576


def _sheet_title(number: int) -> str:
    return SHEET_TITLE if number == 1 else f"{SHEET_TITLE} ({number})"


def write_matrix_xlsx(rows: Iterable[Sequence], fileobj) -> None:
    """Write the header and the rows to `fileobj` (a path or a binary file) with XlsxWriter's constant_memory.

    constant_memory writes each row to a temporary file as soon as the next begins, so memory
    stays flat at any size. Every value is written with write_string: a comment that starts with
    "=" is text, not a formula to run when the file is opened.
    """
    workbook = xlsxwriter.Workbook(
        fileobj,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    header_format = workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "pattern": 1})
    formats = []
    for column in COLUMNS:
        properties: dict = {}
        if column.key in TEXT_COLUMNS:
            properties["num_format"] = TEXT_FORMAT
        if column.key in WRAP_COLUMNS:
            properties.update(text_wrap=True, valign="top")
        formats.append(workbook.add_format(properties) if properties else None)
    columns = list(enumerate(formats))
    sheets = 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        sheet = workbook.add_worksheet(_sheet_title(sheets))
        for index, column in enumerate(COLUMNS):
            sheet.set_column(index, index, column.width)
        sheet.freeze_panes(1, 0)
        for index, title in enumerate(HEADERS):
            sheet.write_string(0, index, title, header_format)
        return sheet

    sheet = new_sheet()
    write = sheet.write_string
    number = 0
    for row in rows:
        number += 1
        if number == MAX_SHEET_ROWS:
            sheet = new_sheet()
            write = sheet.write_string
            number = 1
        for index, cell_format in columns:
            value = row[index]
            text = xml_text(value) if value else ""
            if text:
                write(number, index, text, cell_format)
    workbook.close()


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
    """Write to a text file opened with encoding="utf-8-sig" and newline="": the BOM tells Excel it is UTF-8.

    The rows go out as they come, a chunk of lines at a time (writerows over a slice of the
    stream): the file grows on disk, memory stays at one chunk.
    """
    writer = csv.writer(textfile)
    writer.writerow(HEADERS)
    cell = spreadsheet_text
    rows = iter(rows)
    while chunk := [[cell(value) for value in row] for row in islice(rows, CSV_CHUNK_ROWS)]:
        writer.writerows(chunk)
