"""The audit log as CSV, written line by line for a streaming response.

Cells that a spreadsheet would run as a formula are prefixed with an apostrophe (CSV injection),
with the same function as the comment resolution matrix (config.text.spreadsheet_text).
Column names stay in English: tools read them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from config.text import spreadsheet_text

HEADERS = ["seq", "at_utc", "actor", "action", "target_type", "target_id", "data", "prev_hash", "hash"]


class _Line:
    """A file-like object whose write() returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value) -> str:
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return spreadsheet_text(text)


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(HEADERS)  # the BOM tells Excel it is UTF-8
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])
