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
import io
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import xlsxwriter
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import Case, Expression, F, Func, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf
from django.db.models.sql.constants import LOUTER
from django.utils.translation import gettext as _
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import CellStringTuple, RowInfo, Worksheet

from comments.models import Comment, CommentSupport
from config.text import BIDI_AND_INVISIBLE, FORMULA_PREFIXES, spreadsheet_text, visible_controls, xml_text
from consultations.line_numbers import SectionLines, paragraphs

from ..models import Disposition
from ..template_columns import COLUMNS, HEADERS
from .wording import _labels as decision_labels_in_all_languages
from .wording import decided_text, response_without_decision

SHEET_TITLE = "Comments"
TEXT_FORMAT = "@"
# Columns Excel must keep as text: "1.10" is a clause number, not the number 1.1.
TEXT_COLUMNS = {"number", "clause"}
WRAP_COLUMNS = {
    "organisation",
    "paragraph",
    "comment",
    "proposed_change",
    "observations",
    "quote",
    "imported_by",
    "supported_by",
}
CSV_CHUNK_ROWS = 1000


def observations(comment: Comment) -> str:
    """The secretariat's decided disposition: "Decision: response". Proposals are internal and left out."""
    try:
        disposition = comment.disposition
    except Comment.disposition.RelatedObjectDoesNotExist:
        return ""
    if not disposition.decision:
        return ""
    return decided_text(
        decision=disposition.decision, label=str(disposition.get_decision_display()), response=disposition.response
    )


# What one matrix row is made from: plain values read in one query (selectors_reports.matrix_values),
# no model instances. The names are values_list() paths on the exported comments' queryset.
FIELDS: tuple[str, ...] = (
    "pk",
    "organisation__name",
    "organisation__country_code",
    "organisation__short_name",
    "section_id",
    "position_start",
    "position_end",
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
    COUNTRY_CODE,
    SHORT_NAME,
    SECTION_ID,
    POSITION_START,
    POSITION_END,
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

assert [column.key for column in COLUMNS] == [
    "organisation",
    "line",
    "clause",
    "paragraph",
    "type",
    "comment",
    "proposed_change",
    "observations",
    "number",
    "quote",
    "status",
    "national_position",
    "moderation",
    "language",
    "imported_by",
    "supported_by",
], "matrix_row_maker writes the columns in COLUMNS order"


@dataclass(frozen=True)
class SectionAnchors:
    """What the Line number and Paragraph/Figure/Table cells of a comment on one section are made from.

    first_line: the line of the section's heading (a comment on the whole section cites it);
    body_starts: the body offset each numbered body line starts at, from first_body_line on;
    para_starts: the body offset each paragraph starts at (consultations.line_numbers.paragraphs).
    """

    first_line: int
    first_body_line: int
    body_starts: tuple[int, ...]
    para_starts: tuple[int, ...]

    def line_at(self, offset: int) -> int:
        if not self.body_starts:
            return self.first_line
        return self.first_body_line + max(bisect_right(self.body_starts, offset) - 1, 0)

    def lines(self, start: int | None, end: int | None) -> str:
        """consultations.line_numbers.SectionLines.range_for, as the text it cites ("12" or "12-14")."""
        if start is None:
            return str(self.first_line)
        first = self.line_at(start)
        last = max(first, self.line_at(max(start, (end if end is not None else start + 1) - 1)))
        return str(first) if last == first else f"{first}-{last}"

    def paragraph(self, start: int | None) -> int | None:
        """The 1-based paragraph of the section's body the anchor starts in; None for the whole section."""
        if start is None:
            return None
        return max(bisect_right(self.para_starts, start), 1)


def anchors_of(sections: dict[int, SectionLines], bodies: dict[int, str]) -> dict[int, SectionAnchors]:
    """Each section's anchors from its line numbering and its body (made once per export)."""
    return {
        pk: SectionAnchors(
            first_line=lines.first_line,
            first_body_line=lines.first_body_line,
            body_starts=tuple(start for start, _end in lines.body_lines),
            para_starts=tuple(start for start, _end in paragraphs(bodies.get(pk) or "")),
        )
        for pk, lines in sections.items()
    }


def paragraph_label() -> str:
    """How Paragraph/Figure/Table cites a paragraph of the clause, translated: "Para. %(number)s"."""
    return _("Para. %(number)s")


@dataclass(frozen=True)
class Labels:
    """The words of the matrix's cells in the requester's language, translated once per export."""

    status: dict[str, str]
    decision: dict[str, str]
    decided_with_response: str  # "%(decision)s: %(response)s", translated
    yes: str
    no: str
    hidden: str
    flagged: str

    @classmethod
    def now(cls) -> Labels:
        return cls(
            status={value: str(label) for value, label in Comment.Status.choices},
            decision={value: str(label) for value, label in Disposition.Decision.choices},
            decided_with_response=_("%(decision)s: %(response)s"),
            yes=str(_("yes")),
            no=str(_("no")),
            hidden=str(_("hidden")),
            flagged=str(_("flagged")),
        )


def supporter_label(country_code: str, short_name: str, name: str) -> str:
    """A supporting organisation as MB/NC names one (country code, else short name, else name)."""
    return visible_controls(country_code or short_name or name)


def matrix_row_maker(
    anchors: dict[int, SectionAnchors] | None = None, supporters: dict[int, str] | None = None
) -> Callable[[Sequence], list[str]]:
    """A function from one FIELDS tuple to the matrix's cells, in COLUMNS order.

    `supporters`: {comment id: "TH, VN"} (selectors_reports.export_supporters), read once per export.

    Made once per export, in the requester's language: the labels (status, decision, yes/no,
    hidden/flagged) are translated here, not once per row. On PostgreSQL the export makes the
    same cells in SQL instead (matrix_cells); this is the path of the other databases.
    """
    labels = Labels.now()
    status_labels, decision_labels = labels.status, labels.decision
    decided_with_response = labels.decided_with_response
    yes, no = labels.yes, labels.no
    hidden, flagged = labels.hidden, labels.flagged
    hidden_and_flagged = ", ".join((hidden, flagged))
    moderation = {(False, False): "", (True, False): hidden, (False, True): flagged, (True, True): hidden_and_flagged}
    anchors = anchors or {}
    supporters = supporters or {}
    paragraph = paragraph_label()

    def row(values: Sequence) -> list[str]:
        decision = values[DECISION]
        if decision:
            label = decision_labels.get(decision, decision)
            # The secretariat's decided disposition: "Decision: response", the response's own repetition of
            # the decision dropped (wording.response_without_decision). Proposals are internal and left out.
            response = response_without_decision(values[RESPONSE], decision)
            observations = decided_with_response % {"decision": label, "response": response} if response else label
        else:
            observations = ""
        section = anchors.get(values[SECTION_ID])
        if section is None:
            line = para = ""
        else:
            line = section.lines(values[POSITION_START], values[POSITION_END])
            number = section.paragraph(values[POSITION_START])
            para = "" if number is None else paragraph % {"number": number}
        status = values[STATUS]
        if values[IMPORTED_BY] is None:
            imported_by = ""
        else:
            imported_by = visible_controls(values[IMPORTED_BY_NAME] or values[IMPORTED_BY_EMAIL])
        return [
            # MB/NC: the member body's country code, else the organisation's short name, else its name.
            # Names show their bidi controls and zero-width characters (config.text.visible_controls).
            visible_controls(values[COUNTRY_CODE] or values[SHORT_NAME] or values[ORGANISATION]),
            line,
            values[CLAUSE],
            para,
            values[TYPE],
            values[BODY],
            values[PROPOSED_CHANGE],
            observations,
            f"C{values[PK]}",
            values[QUOTE],
            status_labels.get(status, status),
            yes if values[ENDORSED] else no,
            moderation[bool(values[HIDDEN]), bool(values[FLAGGED])],
            values[LANGUAGE],
            imported_by,
            supporters.get(values[PK], ""),
        ]

    return row


def matrix_rows(
    values: Iterable[Sequence],
    anchors: dict[int, SectionAnchors] | None = None,
    supporters: dict[int, str] | None = None,
) -> Iterator[list[str]]:
    row = matrix_row_maker(anchors, supporters)
    for each in values:
        yield row(each)


# --- the same cells in SQL (PostgreSQL) ------------------------------------------------------
#
# On PostgreSQL the export asks the database for the finished cells and streams them with COPY
# (selectors_reports.copy_csv_lines and copy_text_rows): the labels, "Decision: response",
# config.text.clean_text, visible_controls and, for the CSV, spreadsheet_text's formula guard
# are SQL expressions the server evaluates while Python writes the rows it has already sent.
# Python touches each row once, as bytes (CSV) or as one tuple (XLSX). Both paths are held to
# one reference, byte for byte (tests/consolidation/test_export_streaming.py).

# Clean ASCII: tab, newline and the printable characters (clean_text returns it as it is).
_SQL_NOT_CLEAN_ASCII = r"'[^\t\n -~]'"
_SQL_LINE_BREAK = r"\r|\v|\f|\u0085|\u2028|\u2029"
_SQL_CONTROL = r"[\u0001-\u0008\u000e-\u001f\u007f-\u009f\ufffe\uffff]"
# What clean_text replaces or drops (besides putting the text in NFC).
_SQL_UNCLEAN = r"'[\r\v\f\u0085\u2028\u2029\u0001-\u0008\u000e-\u001f\u007f-\u009f\ufffe\uffff]'"


class _OneArgument(Func):
    """A function of one expression whose SQL names it several times ({x}); its parameters repeat to match."""

    sql = "{x}"
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):  # type: ignore[override]
        inner, params = compiler.compile(self.source_expressions[0])
        return self.sql.replace("{x}", inner), tuple(params) * self.sql.count("{x}")


# spreadsheet_text's formula guard: the first characters a spreadsheet would run (as code points).
_SQL_FORMULA_CODES = "(" + ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES) + ")"


def _cell_sql(*, formula_safe: bool) -> str:
    """clean_text (and with formula_safe spreadsheet_text's guard) of {x} in SQL, "" as NULL.

    Clean ASCII comes back as it is after one test, as in clean_text's fast path. Text holding
    a line break or a control character goes the whole way, in clean_text's order: NFC, line
    breaks to \\n, controls dropped. Any other text is only put in NFC, when it is not already.
    The guard looks at the first character of whichever text a branch returns.
    """

    def guarded(text: str, *, simple: bool) -> str:
        if not formula_safe:
            return text
        if simple:  # {x} itself: naming it again costs nothing
            return f"(CASE WHEN ascii({text}) IN {_SQL_FORMULA_CODES} THEN '''' || {text} ELSE {text} END)"
        return "regexp_replace(" + text + r", '^[=+@\t\r-]', '''\&')"

    whole_way = (
        r"regexp_replace(regexp_replace(normalize({x}, NFC), '\r\n|"
        + _SQL_LINE_BREAK
        + r"', E'\n', 'g'), '"
        + _SQL_CONTROL
        + "', '', 'g')"
    )
    return (
        "NULLIF((CASE WHEN {x} !~ "
        + _SQL_NOT_CLEAN_ASCII
        + " THEN "
        + guarded("{x}", simple=True)
        + " WHEN {x} ~ "
        + _SQL_UNCLEAN
        + " THEN "
        + guarded(whole_way, simple=False)
        + " WHEN {x} IS NFC NORMALIZED THEN "
        + guarded("{x}", simple=True)
        + " ELSE "
        + guarded("normalize({x}, NFC)", simple=False)
        + " END), '')"
    )


def _cell_sql_once(*, formula_safe: bool) -> str:
    """The same text as _cell_sql, naming {x} once: NFC, line breaks, controls and the guard, one pass each.

    For an expression that costs more than a pass over its text (regular expressions over the row's
    own text, as Observations' response): _cell_sql's tests and branches name it up to four times,
    and the database evaluates it each time.
    """
    cleaned = (
        r"regexp_replace(regexp_replace(normalize({x}, NFC), '\r\n|"
        + _SQL_LINE_BREAK
        + r"', E'\n', 'g'), '"
        + _SQL_CONTROL
        + "', '', 'g')"
    )
    if formula_safe:
        cleaned = "regexp_replace(" + cleaned + r", '^[=+@\t\r-]', '''\&')"
    return f"NULLIF({cleaned}, '')"


class CleanText(_OneArgument):
    """config.text.xml_text (clean_text) in SQL, an empty text as NULL (PostgreSQL, UTF8 database)."""

    sql = _cell_sql(formula_safe=False)


class SpreadsheetText(_OneArgument):
    """config.text.spreadsheet_text in SQL: clean_text, then an apostrophe before a leading = + - @, tab or CR."""

    sql = _cell_sql(formula_safe=True)


class CleanTextOnce(_OneArgument):
    """CleanText of a costly expression, evaluated once (_cell_sql_once)."""

    sql = _cell_sql_once(formula_safe=False)


class SpreadsheetTextOnce(_OneArgument):
    """SpreadsheetText of a costly expression, evaluated once (_cell_sql_once)."""

    sql = _cell_sql_once(formula_safe=True)


class Costly(Func):
    """Marks a cell's expression as costly to evaluate: _finished cleans it with the *Once form."""

    template = "%(expressions)s"
    output_field = TextField()


def _visible_controls_sql() -> str:
    replaced = "{x}"
    for char in BIDI_AND_INVISIBLE:
        replaced = f"replace({replaced}, E'\\u{ord(char):04x}', '[U+{ord(char):04X}]')"
    any_of = "".join(f"\\u{ord(char):04x}" for char in BIDI_AND_INVISIBLE)
    return f"(CASE WHEN {{x}} ~ '[{any_of}]' THEN {replaced} ELSE {{x}} END)"


class VisibleControls(_OneArgument):
    """config.text.visible_controls in SQL: bidi controls and zero-width characters as [U+XXXX]."""

    sql = _visible_controls_sql()


def _text(value: str) -> Value:
    return Value(value, output_field=TextField())


def _filled(path: str) -> Q:
    """The text at `path` is neither NULL nor empty (neither is greater than '')."""
    return Q(**{f"{path}__gt": ""})


def _label(path: str, labels: dict[str, str]) -> Case:
    """A choice's label; a value without one shows as it is (as dict.get(value, value))."""
    return Case(
        *(When(**{path: value}, then=_text(label)) for value, label in labels.items()),
        default=F(path),
        output_field=TextField(),
    )


def _strictly_filled_in(template: str, values: dict[str, Expression | F]) -> Expression:
    """A %(name)s template filled with SQL expressions joined by ||, NULL when any of them is NULL."""
    parts: list[Expression | F] = []
    for index, part in enumerate(re.split(r"%\((\w+)\)s", template)):
        if index % 2:
            parts.append(values[part])
        elif part:
            parts.append(_text(part.replace("%%", "%")))
    return Func(*parts, template="(%(expressions)s)", arg_joiner=" || ", output_field=TextField())


# The anchors of the export's sections (SectionAnchors), in a temporary table of the export's connection
# (selectors_reports.export_tables), joined to the comments by their section (a hash join of a few
# rows: _join): the Line number and Paragraph/Figure/Table cells find the line and the
# paragraph with width_bucket (a binary search, as bisect_right). They are numbers and a translated
# label: nothing in them to clean. (Looked up by a correlated subquery per cell, two per row, they
# were most of the cells' cost at a million rows.)
ANCHOR_TABLE = "matrix_anchor_sections"
ANCHOR_ALIAS = "matrix_anchor"
# Each exported organisation's MB/NC cell, finished in Python (organisation_cells), in a temporary
# table joined by the comments' organisation (selectors_reports.export_tables). Made in SQL, the
# cell (visible_controls of the first name given, then cleaned) named its text a dozen times over
# and cost more than every other cell together: 0.68 s of the export's 1.9 s at 100,000 rows.
ORGANISATION_TABLE = "matrix_organisations"
ORGANISATION_ALIAS = "matrix_organisation"


class FinishedCell(RawSQL):
    """A cell the database reads finished (a number, a translated label, a cell made in Python): written as it comes."""


class AnchorCell(FinishedCell):
    """A cell computed from the comment's section in ANCHOR_TABLE."""


def organisation_cells(names: dict[int, tuple[str, str, str]], *, formula_safe: bool) -> dict[int, str | None]:
    """{organisation id: its MB/NC cell, finished as _finished would finish it ("" as None)}."""
    finish = spreadsheet_text if formula_safe else xml_text
    return {pk: finish(supporter_label(*name)) or None for pk, name in names.items()}


def _line_at(offset: str) -> str:
    a = ANCHOR_ALIAS
    return (
        f"CASE WHEN cardinality({a}.body_starts) = 0 THEN {a}.first_line "
        f"ELSE {a}.first_body_line + greatest(width_bucket({offset}, {a}.body_starts) - 1, 0) END"
    )


def _anchor_cells(paragraph: str) -> tuple[AnchorCell, AnchorCell]:
    table, a = Comment._meta.db_table, ANCHOR_ALIAS
    start, end = f'"{table}"."position_start"', f'"{table}"."position_end"'
    first = f"(CASE WHEN {start} IS NULL THEN {a}.first_line ELSE {_line_at(start)} END)"
    end_offset = f"greatest({start}, coalesce({end}, {start} + 1) - 1)"
    last = f"(CASE WHEN {start} IS NULL THEN {a}.first_line ELSE {_line_at(end_offset)} END)"
    line = AnchorCell(
        f"(CASE WHEN {last} > {first} THEN {first} || '-' || {last} ELSE {first}::text END)",
        (),
        output_field=TextField(),
    )
    before, _sep, after = paragraph.partition("%(number)s")
    # A section missing from the table (none is: every exported section is in it) gives no paragraph.
    para = AnchorCell(
        f"(CASE WHEN {start} IS NULL OR {a}.section_id IS NULL THEN NULL ELSE "
        f"%s || greatest(coalesce(width_bucket({start}, {a}.para_starts), 0), 1) || %s END)",
        (before, after),
        output_field=TextField(),
    )
    return line, para


def _pg_regex_escape(text: str) -> str:
    return "".join("\\" + char if char in r".^$*+?()[]{}|\-" else char for char in text)


def _response_without_decision(decision: str) -> Expression:
    """wording.response_without_decision in SQL, for a disposition whose decision is `decision`."""
    labels = decision_labels_in_all_languages(decision)
    trimmed = Func(F("disposition__response"), _text(" \t\n\r\v\f"), function="btrim", output_field=TextField())
    if not labels:
        return trimmed
    alternatives = "|".join(_pg_regex_escape(label) for label in labels)
    pattern = "^(?:" + alternatives + ")" + r"\s*[:\-–—]\s*"
    rest = Func(trimmed, _text(pattern), _text(""), _text("i"), function="regexp_replace", output_field=TextField())
    only_label = Func(
        Func(Func(trimmed, _text("."), function="rtrim"), function="btrim"), function="lower", output_field=TextField()
    )
    return _OnlyLabel(only_label, rest, [label.casefold() for label in labels])


class _OnlyLabel(Func):
    """CASE WHEN <only_label> IN (labels) THEN '' ELSE <rest> END."""

    output_field = TextField()

    def __init__(self, only_label, rest, labels: list[str]):
        super().__init__(only_label, rest)
        self.labels = labels

    def as_sql(self, compiler, connection, **extra_context):  # type: ignore[override]
        only_sql, only_params = compiler.compile(self.source_expressions[0])
        rest_sql, rest_params = compiler.compile(self.source_expressions[1])
        placeholders = ", ".join(["%s"] * len(self.labels))
        return (
            f"(CASE WHEN {only_sql} IN ({placeholders}) THEN '' ELSE {rest_sql} END)",
            (*only_params, *self.labels, *rest_params),
        )


def _sql_cells(labels: Labels) -> dict[str, Expression | F]:
    """Each column's cell as an SQL expression over the exported comments (the same as matrix_row_maker)."""
    decision = _label("disposition__decision", labels.decision)
    response = Case(
        *(When(disposition__decision=value, then=_response_without_decision(value)) for value in labels.decision),
        default=F("disposition__response"),
        output_field=TextField(),
    )
    # "Decision: response", or the decision alone when nothing is left of the response: the
    # response (regular expressions over its text) is evaluated once, NULL when empty, and the
    # concatenation (|| keeps a NULL) falls back to the label.
    decided = Costly(
        Coalesce(
            _strictly_filled_in(
                labels.decided_with_response, {"decision": decision, "response": NullIf(response, _text(""))}
            ),
            decision,
        )
    )
    line, paragraph = _anchor_cells(spreadsheet_text(paragraph_label()))
    return {
        "organisation": FinishedCell(f'{ORGANISATION_ALIAS}."cell"', (), output_field=TextField()),
        "line": line,
        "clause": F("section__number"),
        "paragraph": paragraph,
        "type": F("type"),
        "comment": F("body"),
        "proposed_change": F("proposed_change"),
        "number": FinishedCell(f'(%s || "{Comment._meta.db_table}"."id")', ("C",), output_field=TextField()),
        "quote": F("quote_exact"),
        "observations": Case(When(_filled("disposition__decision"), then=decided), default=_text("")),
        "status": _label("status", labels.status),
        "national_position": Case(When(is_endorsed=True, then=_text(labels.yes)), default=_text(labels.no)),
        # The flag is an EXISTS: each row evaluates it once, on whichever branch it takes.
        "moderation": Case(
            When(
                is_hidden=True,
                then=Case(
                    When(is_flagged=True, then=_text(", ".join((labels.hidden, labels.flagged)))),
                    default=_text(labels.hidden),
                ),
            ),
            When(is_flagged=True, then=_text(labels.flagged)),
            default=_text(""),
            output_field=TextField(),
        ),
        "language": F("language"),
        "imported_by": Case(
            When(imported_by__isnull=True, then=_text("")),
            default=VisibleControls(Coalesce(NullIf(F("imported_by__full_name"), _text("")), F("imported_by__email"))),
            output_field=TextField(),
        ),
        # From the supports aggregated (and finished) once for the export (_SupportersJoin), in the
        # order the delegations stated their support, as export_supporters lists them; NULL (an
        # empty cell) for a comment nobody supported.
        "supported_by": FinishedCell(f'{SUPPORTERS_ALIAS}."names"', (), output_field=TextField()),
    }


def _finished(cell: Expression | F, *, formula_safe: bool) -> Expression | F:
    """A cell made into the text a file holds: xml_text (formula_safe: spreadsheet_text), "" as NULL.

    A CASE's value is one of its branches, so each branch is finished on its own: a label is
    finished here in Python, once, and the database cleans only what comes from its rows.
    """
    if isinstance(cell, FinishedCell):
        return cell
    if isinstance(cell, Costly):
        return (SpreadsheetTextOnce if formula_safe else CleanTextOnce)(*cell.source_expressions)
    if isinstance(cell, Value):
        text = spreadsheet_text(cell.value) if formula_safe else xml_text(cell.value)
        return Value(text or None, output_field=TextField())
    if isinstance(cell, Case):
        return Case(
            *(When(case.condition, then=_finished(case.result, formula_safe=formula_safe)) for case in cell.cases),
            default=_finished(cell.default, formula_safe=formula_safe),
            output_field=TextField(),
        )
    return SpreadsheetText(cell) if formula_safe else CleanText(cell)


def matrix_cells(queryset: QuerySet[Comment], *, formula_safe: bool) -> QuerySet:
    """The exported comments as the matrix's finished cells, one text per column in COLUMNS order (PostgreSQL).

    Every cell is xml_text'ed, and with formula_safe spreadsheet_text'ed, as the Python path
    does; an empty cell is NULL, which COPY's CSV writes as nothing at all (as Python's csv
    does), not as "".
    """
    cells = _sql_cells(Labels.now())
    annotations = {
        f"matrix_{column.key}": _finished(cells[column.key], formula_safe=formula_safe) for column in COLUMNS
    }
    annotated = queryset.annotate(**annotations)
    _join_supporters(annotated.query, queryset, formula_safe=formula_safe)
    _join(annotated.query, ANCHOR_TABLE, ANCHOR_ALIAS, "section_id")
    _join(annotated.query, ORGANISATION_TABLE, ORGANISATION_ALIAS, "organisation_id")
    return annotated.values_list(*annotations)


# The Supported by cell reads the export's supports aggregated once, one row of names per
# supported comment, LEFT JOINed to the comments: a hash join instead of a correlated
# string_agg subquery per row (which cost 1.33x the matrix's COPY at 20,000 rows, 10% of them
# supported). The ORM joins tables and relations but not a grouped subquery, so the join is
# an entry of its own in the query's alias_map (Django compiles each entry's as_sql into the
# FROM clause, the way django.db.models.sql.datastructures.Join is).
SUPPORTERS_ALIAS = "matrix_supporters"


def _supporter_names(exported: QuerySet[Comment], *, formula_safe: bool) -> QuerySet:
    """comment_id, names ("TH, VN"), finished: the supports of the exported comments' rounds, as supporter_label
    names them."""
    rounds = exported.order_by().values("round_id")
    names = StringAgg(
        VisibleControls(
            Coalesce(
                NullIf(F("organisation__country_code"), _text("")),
                NullIf(F("organisation__short_name"), _text("")),
                F("organisation__name"),
            )
        ),
        delimiter=", ",
        order_by="id",
    )
    return (
        CommentSupport.objects.filter(comment__round_id__in=rounds)
        .order_by()
        .values("comment_id")
        .annotate(names=SpreadsheetText(names) if formula_safe else CleanText(names))
    )


class _SupportersJoin:
    """LEFT OUTER JOIN (_supporter_names) matrix_supporters ON (matrix_supporters.comment_id = comment.id)."""

    join_type = LOUTER
    nullable = True
    filtered_relation = None

    def __init__(self, parent_alias: str, names: QuerySet) -> None:
        self.parent_alias = parent_alias
        self.table_name = self.table_alias = SUPPORTERS_ALIAS
        self.names = names

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        sql, params = self.names.query.get_compiler(connection=connection).as_sql()
        quote = compiler.quote_name_unless_alias
        on = f'{SUPPORTERS_ALIAS}."comment_id" = {quote(self.parent_alias)}.{quote(Comment._meta.pk.column)}'
        return f"LEFT OUTER JOIN ({sql}) {SUPPORTERS_ALIAS} ON ({on})", list(params)

    def relabeled_clone(self, change_map: dict[str, str]) -> _SupportersJoin:
        return _SupportersJoin(change_map.get(self.parent_alias, self.parent_alias), self.names)


def _join_supporters(query, exported: QuerySet[Comment], *, formula_safe: bool) -> None:
    base = query.get_initial_alias()
    query.alias_map[SUPPORTERS_ALIAS] = _SupportersJoin(base, _supporter_names(exported, formula_safe=formula_safe))
    query.alias_refcount[SUPPORTERS_ALIAS] = 1


class _LookupJoin:
    """LEFT OUTER JOIN <table> <alias> ON (<alias>.<column> = comment.<column>): a temporary table of the export."""

    join_type = LOUTER
    nullable = True
    filtered_relation = None

    def __init__(self, parent_alias: str, table: str, alias: str, column: str) -> None:
        self.parent_alias = parent_alias
        self.table_name = table
        self.table_alias = alias
        self.column = column

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        theirs = f'{compiler.quote_name_unless_alias(self.parent_alias)}."{self.column}"'
        on = f'{self.table_alias}."{self.column}" = {theirs}'
        return f"LEFT OUTER JOIN {self.table_name} {self.table_alias} ON ({on})", []

    def relabeled_clone(self, change_map: dict[str, str]) -> _LookupJoin:
        parent = change_map.get(self.parent_alias, self.parent_alias)
        return _LookupJoin(parent, self.table_name, self.table_alias, self.column)


def _join(query, table: str, alias: str, column: str) -> None:
    """Join one of the export's temporary tables (ANCHOR_TABLE, ORGANISATION_TABLE) by the comment's `column`."""
    base = query.get_initial_alias()
    query.alias_map[alias] = _LookupJoin(base, table, alias, column)
    query.alias_refcount[alias] = 1


# --- XLSX ---------------------------------------------------------------------------------
#
# The sheet as the ISO/IEC template is laid out: a header block (what the matrix is of, and the
# legend of the comment types), then the column headers, wrapped, in a row of their own (the
# import finds them by their text, among the first rows: consolidation.services.imports), then
# one row per comment. Printed landscape, fitted to the page's width, the header row repeated on
# every page, "Page n of m" in the footer. In Excel and LibreOffice alike a wrapped cell does not
# grow its row by itself when the file was written by a program: each row's height is set from
# its longest wrapped cell (estimated_lines), so no text runs over the next row.


@dataclass(frozen=True)
class MatrixInfo:
    """What the header block and the document properties say the matrix is of."""

    consultation: str = ""
    version: str = ""
    engagement_round: str = ""
    as_of: str = ""


# The header block takes the sheet's first rows; the column headers follow (0-based row index).
HEADER_ROW = 6
HEADER_HEIGHT = 45  # points: three lines of the wrapped headers
LINE_HEIGHT = 15  # points: one line of 11-point text
# Points below a wrapped cell's last line: at exactly LINE_HEIGHT a line, LibreOffice (Calibri
# replaced by Noto Sans or Carlito, whose lines are about 15 points) draws the last line flush
# against the next row's first, and the rows read as one block.
ROW_PADDING = 3
MAX_ROW_HEIGHT = 409  # Excel's limit
# Characters of average text a column holds on one line per unit of width (widths count the "0" glyph).
CHARS_PER_WIDTH = 1.1
TEMPLATE_ROWS = 200
TYPE_CODES = ("ge", "te", "ed")


def _wrap_capacity() -> list[tuple[int, int]]:
    """(column index, characters per line) of the wrapped columns."""
    return [
        (index, max(1, int(column.width * CHARS_PER_WIDTH)))
        for index, column in enumerate(COLUMNS)
        if column.key in WRAP_COLUMNS
    ]


def row_height(lines: int) -> int:
    """The height in points of a row whose longest wrapped cell takes `lines` lines (more than one)."""
    return min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + ROW_PADDING)


def estimated_lines(text: str, capacity: int) -> int:
    """How many lines a wrapped cell of `capacity` characters a line takes for `text` (at least 1)."""
    if len(text) <= capacity and "\n" not in text:
        return 1
    return sum(max(1, -(-len(part) // capacity)) for part in text.split("\n"))


def _block_lines(info: MatrixInfo, site_name: str) -> list[tuple[str, str]]:
    return [
        (_("Document"), info.consultation),
        (_("Version"), info.version),
        (_("Round"), info.engagement_round),
        (_("As of"), info.as_of),
        (
            _("Type of comment"),
            _("ge = general, te = technical, ed = editorial. Made with %(site)s.") % {"site": site_name},
        ),
    ]


def _escape_header(text: str) -> str:
    return text.replace("&", "&&")


def _xlsx_workbook(fileobj, info: MatrixInfo, *, template: bool):
    """An XlsxWriter workbook with the matrix's formats, properties and a function adding a laid-out sheet."""
    from django.conf import settings
    from django.utils import timezone

    site = str(getattr(settings, "SITE_NAME", "") or "")
    workbook = xlsxwriter.Workbook(
        fileobj,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    title = _("Comment template") if template else _("Comment resolution matrix")
    subject = " · ".join(part for part in (info.consultation, info.version, info.engagement_round) if part)
    workbook.set_properties(
        {
            "title": xml_text(f"{title}: {info.consultation}" if info.consultation else title),
            "subject": xml_text(subject),
            "author": xml_text(site),
            "company": xml_text(site),
            "comments": xml_text(_("Made with %(site)s. %(what)s.") % {"site": site, "what": subject or title}),
            "created": timezone.now().replace(tzinfo=None),
        }
    )
    header_format = workbook.add_format(
        {"bold": True, "bg_color": "#DDE4EE", "pattern": 1, "text_wrap": True, "valign": "top", "border": 1}
    )
    title_format = workbook.add_format({"bold": True, "font_size": 14})
    label_format = workbook.add_format({"bold": True})
    formats = []
    for column in COLUMNS:
        properties: dict = {"valign": "top"}
        if column.key in TEXT_COLUMNS:
            properties["num_format"] = TEXT_FORMAT
        if column.key in WRAP_COLUMNS:
            properties["text_wrap"] = True
        formats.append(workbook.add_format(properties))

    def add_sheet(name: str):
        sheet = workbook.add_worksheet(name, worksheet_class=MatrixSheet)
        sheet._matrix_init(formats)
        for index, column in enumerate(COLUMNS):
            sheet.set_column(index, index, column.width, formats[index])
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(HEADER_ROW)
        sheet.set_header(
            "&L" + _escape_header(xml_text(f"{title}: {info.consultation}" if info.consultation else title))
        )
        sheet.set_footer(
            "&L"
            + _escape_header(xml_text(site))
            + "&R"
            + _escape_header(_("Page %(page)s of %(pages)s")) % {"page": "&P", "pages": "&N"}
        )
        sheet.freeze_panes(HEADER_ROW + 1, 0)
        # The header block, in the order rows must be written in constant_memory mode.
        sheet.write_string(0, 0, xml_text(title), title_format)
        for offset, (label, value) in enumerate(_block_lines(info, site), start=1):
            sheet.write_string(offset, 0, xml_text(label), label_format)
            if value:
                sheet.write_string(offset, 2, xml_text(value))
        sheet.set_row(HEADER_ROW, HEADER_HEIGHT)
        for index, header in enumerate(HEADERS):
            sheet.write_string(HEADER_ROW, index, header, header_format)
        return sheet

    return workbook, add_sheet, formats


def _finish_sheet(sheet, last_row: int) -> None:
    """The autofilter over the headers and rows, and the drop-down of the comment types."""
    last = max(last_row, HEADER_ROW + 1)
    sheet.autofilter(HEADER_ROW, 0, last, len(COLUMNS) - 1)
    type_index = next(index for index, column in enumerate(COLUMNS) if column.key == "type")
    sheet.data_validation(
        HEADER_ROW + 1,
        type_index,
        last,
        type_index,
        {
            "validate": "list",
            "source": list(TYPE_CODES),
            "error_title": _("Type of comment"),
            "error_message": _("ge (general), te (technical) or ed (editorial)."),
        },
    )


# Excel's limit, header block and header included: a longer matrix goes on in "Comments (2)"...
MAX_SHEET_ROWS = 1_048_576


def _sheet_title(number: int) -> str:
    return SHEET_TITLE if number == 1 else f"{SHEET_TITLE} ({number})"


# What XlsxWriter changes in an inline string before writing it (xmlwriter._escape_data,
# _escape_control_characters, utility._preserve_whitespace, a "<r>...</r>" rich string): a cell holding
# none of it is written as it is.
_XLSX_ESCAPED = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")
_XLSX_ESCAPE_OF_ESCAPE = re.compile("_x[0-9a-fA-F]{4}_")


class MatrixSheet(Worksheet):
    """XlsxWriter's worksheet, with one more writer: a whole row of text cells at once (constant_memory).

    write_string stores each cell in the sheet's table, and when the next row begins writes the
    stored row cell by cell (_write_single_row, _write_cell), each cell's text looked at five
    times for what XML needs escaped, its format looked up, its position named: that is most of
    an XLSX export's time. write_text_row writes the row's XML at once to the same temporary
    file, the same bytes XlsxWriter writes for it (tests/consolidation/test_export_streaming.py
    compares the files): cells whose text XlsxWriter would change in any way (escapes, control
    characters, surrounding spaces, a text over Excel's length limit) are handed to its own
    _write_cell. XlsxWriter is pinned (requirements.txt): these are its internals.
    """

    def _matrix_init(self, formats: list) -> None:
        self._matrix_formats = formats
        self._matrix_styles: list[str | None] = [None] * len(formats)  # ' s="n"', once the format has its index
        self._matrix_columns = [xl_col_to_name(index) for index in range(len(formats))]
        self._matrix_row_tails: dict[int | None, str] = {}

    def _row_tail(self, pixel_height: int | None) -> str:
        """What XlsxWriter writes in a <row> tag after its number, for a row of this height (None: the default)."""
        tail = self._matrix_row_tails.get(pixel_height)
        if tail is None:
            fh = self.fh  # type: ignore[has-type]  # XlsxWriter's attributes are not annotated
            self.fh = io.StringIO()
            try:
                self._write_row(0, None, None if pixel_height is None else RowInfo(height=pixel_height))
                tag = self.fh.getvalue()
            finally:
                self.fh = fh
            head = '<row r="1'
            assert tag.startswith(head), tag
            tail = self._matrix_row_tails[pixel_height] = tag[len(head) :]
        return tail

    def _style(self, index: int) -> str:
        # Format indexes are given on first use, as _write_cell gives them: the same numbering.
        style = self._matrix_styles[index] = f' s="{self._matrix_formats[index]._get_xf_index()}"'
        return style

    def write_text_row(self, row: int, values: Sequence[str | None], height: float | None = None) -> None:
        """Write row `row` (0-based) of text cells in the sheet's column formats; a height in points, as set_row."""
        previous: int = self.previous_row  # type: ignore[has-type]
        if row < previous or (row == previous and self.table):
            raise ValueError("constant_memory writes rows in order")
        if self.table or previous in self.row_info:
            self._write_single_row(row)  # the row written before by write_string or set_row
        else:
            self.previous_row = row
        styles, columns, formats = self._matrix_styles, self._matrix_columns, self._matrix_formats
        escaped, escape_of_escape = _XLSX_ESCAPED.search, _XLSX_ESCAPE_OF_ESCAPE.search
        longest = self.xls_strmax // 2
        number = str(row + 1)
        pixel_height = None if height is None else int(height * 4.0 / 3.0 + 0.5)
        parts = ['<row r="', number, self._row_tail(pixel_height)]
        first = last = -1
        for index, value in enumerate(values):
            if not value:
                continue
            if first < 0:
                first = index
            last = index
            if (
                len(value) > longest
                or escaped(value)
                or ("_x" in value and escape_of_escape(value))
                or value[0].isspace()
                or value[-1].isspace()
            ):
                self.fh.write("".join(parts))
                parts.clear()
                if _utf16_len(value) > self.xls_strmax:
                    value = _utf16_truncate(value, self.xls_strmax)
                self._write_cell(row, index, CellStringTuple(value, formats[index]))
                continue
            parts.append(
                f'<c r="{columns[index]}{number}"{styles[index] or self._style(index)} t="inlineStr">'
                f"<is><t>{value}</t></is></c>"
            )
        if first < 0:
            if pixel_height is not None:  # a row of no cells is only its height, as XlsxWriter writes it
                self.set_row_pixels(row, pixel_height)
            return
        parts.append("</row>")
        self.fh.write("".join(parts))
        self._check_dimensions(row, first)
        self._check_dimensions(row, last)


def write_matrix_xlsx(
    rows: Iterable[Sequence], fileobj, *, cleaned: bool = False, info: MatrixInfo | None = None
) -> None:
    """Write the header block, the header and the rows to `fileobj` (a path or a binary file), constant_memory.

    constant_memory writes each row to a temporary file as soon as it is made, so memory stays
    flat at any size; a row's height is set as it is written (MatrixSheet.write_text_row).
    Every value is written as a string: a comment that starts with "=" is text, not a formula to
    run when the file is opened. Rows whose cells are `cleaned` already (matrix_cells) are
    written as they come; others go through xml_text here.
    """
    workbook, add_sheet, _formats = _xlsx_workbook(fileobj, info or MatrixInfo(), template=False)
    wrapped = _wrap_capacity()
    sheets = 1
    sheet = add_sheet(_sheet_title(sheets))
    write_row = sheet.write_text_row
    number = HEADER_ROW
    for row in rows:
        number += 1
        if number == MAX_SHEET_ROWS:
            _finish_sheet(sheet, number - 1)
            sheets += 1
            sheet = add_sheet(_sheet_title(sheets))
            write_row = sheet.write_text_row
            number = HEADER_ROW + 1
        if not cleaned:
            row = [xml_text(value) if value else "" for value in row]
        lines = 1
        for index, capacity in wrapped:
            value = row[index]
            if value and (len(value) > capacity or "\n" in value):
                lines = max(lines, estimated_lines(value, capacity))
        write_row(number, row, row_height(lines) if lines > 1 else None)
    _finish_sheet(sheet, number)
    workbook.close()


def write_template_xlsx(fileobj, info: MatrixInfo | None = None) -> None:
    """The empty template a delegation fills offline: the matrix's layout, with room for TEMPLATE_ROWS comments.

    The same header block, headers, formats (Clause/Subclause kept as text, so 1.10 stays
    "1.10"), drop-down of the comment types, autofilter and print settings as the export.
    """
    workbook, add_sheet, _formats = _xlsx_workbook(fileobj, info or MatrixInfo(), template=True)
    sheet = add_sheet(SHEET_TITLE)
    _finish_sheet(sheet, HEADER_ROW + TEMPLATE_ROWS)
    workbook.close()


# --- CSV ----------------------------------------------------------------------------------


def _csv_head() -> bytes:
    """The BOM (it tells Excel the file is UTF-8) and the header line, as Python's csv writes them."""
    out = io.StringIO(newline="")
    csv.writer(out).writerow(HEADERS)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_matrix_csv_lines(lines: Iterable[bytes | memoryview], fileobj) -> None:
    """Write the matrix's CSV to a binary file from PostgreSQL's COPY ... (FORMAT csv) lines of matrix_cells.

    COPY quotes exactly what Python's csv writer quotes (a comma, a double quote, \\r or \\n;
    quotes doubled) and writes a NULL as nothing; it ends each line with \\n where csv ends it
    with \\r\\n. Each line comes on its own (one row per COPY message, as PostgreSQL's protocol
    promises), so its last byte is the line's end, and only that one is changed.
    """
    fileobj.write(_csv_head())
    write = fileobj.write
    for line in lines:
        write(line[:-1])
        write(b"\r\n")


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
