"""The columns of the ISO/IEC comment template, defined once for the export and the import.

Each column has a stable machine key (used in code), the English header written into every
file, and a translatable label shown on pages. Files always carry the English ISO headers,
whatever the requester's language: a delegation may fill a template exported by a colleague
who reads the site in Vietnamese, and the import must still recognise every column. The
import also accepts a header translated into any of the site's languages (see header_index).

The first eight columns are the ISO/IEC template itself, in its order (MB/NC, Line number,
Clause/Subclause, Paragraph/Figure/Table, Type of comment, Comments, Proposed change,
Observations of the secretariat); all but Line number must be present in an imported file
(the earlier layout's "Organisation" and "Clause" headers are accepted for MB/NC and
Clause/Subclause). The platform's extra columns after them: No. (the comment's number on the
platform), Quoted passage (the text the comment is anchored to; Paragraph/Figure/Table holds
the paragraph's reference, "Para. 2"), then Status, National position, Moderation, Language,
Imported by and Supported by (the other delegations that stated their support for the comment
on the platform, as MB/NC names them, in the order they did). The import reads Quoted passage
and Language when present, and refuses a row whose Status, National position, Moderation or
Imported by is filled, because only an export of the matrix fills them (see
consolidation.services.imports). It ignores Supported by: a delegation states its support on
the platform itself, never in another delegation's file. A file of the earlier
layout (no Quoted passage column) has the quoted passage in Paragraph/Figure/Table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # English, written into files; also the msgid of `label`
    label: StrOrPromise  # translatable, for pages and error messages
    width: int
    required_on_import: bool
    # Other headers the import accepts for this column (the ISO/IEC template's own wording).
    aliases: tuple[str, ...] = ()


# The headers are literal English on purpose (not the lazy label): files are language-neutral.
# The ISO/IEC template's eight columns first, in its order; the platform's own columns after them.
COLUMNS: tuple[Column, ...] = (
    Column("organisation", "MB/NC", _("MB/NC"), 10, True, aliases=("Organisation", "MB/NC1", "MB", "NC")),
    Column("line", "Line number", _("Line number"), 9, False, aliases=("Line number (e.g. 17)", "Line")),
    Column(
        "clause", "Clause/Subclause", _("Clause/Subclause"), 11, True, aliases=("Clause", "Clause/Subclause (e.g. 3.1)")
    ),
    Column(
        "paragraph",
        "Paragraph/Figure/Table",
        _("Paragraph/Figure/Table"),
        13,
        True,
        aliases=("Paragraph/Figure/Table/", "Paragraph/Figure/Table/ (e.g. Table 1)"),
    ),
    Column("type", "Type of comment", _("Type of comment"), 9, True),
    Column("comment", "Comments", _("Comments"), 48, True),
    Column("proposed_change", "Proposed change", _("Proposed change"), 40, True),
    Column("observations", "Observations of the secretariat", _("Observations of the secretariat"), 36, True),
    Column("number", "No.", _("No."), 9, False),
    Column("quote", "Quoted passage", _("Quoted passage"), 36, False),
    Column("status", "Status", _("Status"), 11, False),
    Column("national_position", "National position", _("National position"), 10, False),
    Column("moderation", "Moderation", _("Moderation"), 12, False),
    Column("language", "Language", _("Language"), 9, False),
    Column("imported_by", "Imported by", _("Imported by"), 20, False),
    Column("supported_by", "Supported by", _("Supported by"), 16, False),
)
# The ISO/IEC template's own columns (the first ones); the rest are the platform's.
ISO_COLUMN_COUNT = 8

# Filled by the platform's export only; a delegation's template leaves them empty.
EXPORT_ONLY_KEYS: tuple[str, ...] = ("status", "national_position", "moderation", "imported_by")

KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS)
HEADERS: tuple[str, ...] = tuple(column.header for column in COLUMNS)
BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}


def normalise_header(value) -> str:
    """Compare headers the way a person reads them: case, spacing and a trailing colon do not matter."""
    text = "" if value is None else str(value)
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip().casefold()


def _accepted_headers(column: Column) -> set[str]:
    accepted = {normalise_header(column.header), *(normalise_header(alias) for alias in column.aliases)}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            accepted.add(normalise_header(str(column.label)))
    return accepted


def header_index(header_row) -> tuple[dict[str, int], list[Column]]:
    """Map column keys to their 0-based position in a file's header row; also the required columns missing."""
    cells = [normalise_header(value) for value in header_row]
    found: dict[str, int] = {}
    for column in COLUMNS:
        accepted = _accepted_headers(column)
        for index, cell in enumerate(cells):
            if cell and cell in accepted:
                found[column.key] = index
                break
    missing = [column for column in COLUMNS if column.required_on_import and column.key not in found]
    return found, missing
