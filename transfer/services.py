"""Export one consultation to a file, and import such a file into an empty database.

The file is JSON Lines (gzip when its name ends in .gz, with no time stamp in the gzip header):

    {"format": "consultation-transfer", "version": 1, "consultation": {...}, "tables": [...]}
    ["accounts.organisation", {"country_code": "VN", "id": 3, ...}]
    ...                                     one line per row, tables in dependency order, rows by pk
    ["file", {"content": "<base64>", "name": "reports/...", "sha256": "..."}]
    {"files": 2, "rows": 1234, "sha256": "<SHA-256 of every byte above this line>"}

Keys are sorted and nothing in it depends on when or where it was made, so exporting the
restored database gives the same bytes. Primary keys are kept, so references, ETags and the
audit log's own references stay valid. Fields are read from the models (registry.py lists the
models), so a new field travels without a change here.

The import checks the checksum before it touches the database, refuses a database that holds
any row of the tables it would fill, inserts everything in one transaction without save() or
signals (no audit entries, no tasks, no e-mails), and resets the primary-key sequences.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.models import Q, QuerySet

from audit.services import audit_log
from consultations.models import Consultation

from .registry import CARRIED, MOVED

FORMAT = "consultation-transfer"
VERSION = 1
BATCH_SIZE = 2000
FILE_KIND = "file"


class TransferError(Exception):
    """A file, a consultation or a database that the export or import refuses; the message says why."""


@dataclass(frozen=True)
class Table:
    label: str
    model: type[models.Model]
    rows: QuerySet


@dataclass(frozen=True)
class TransferSummary:
    consultation: str
    rows: int
    files: int
    sha256: str
    tables: dict[str, int]


# --- choosing the rows --------------------------------------------------------------------


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def _column_name(field: models.Field) -> str:
    """The table column of a concrete field (only a field with no column of its own has None)."""
    if field.column is None:
        raise TransferError(f"{field} has no column of its own.")
    return field.column


def _through(field: models.ManyToManyField) -> type[models.Model]:
    """The model of a many-to-many field's table (Django sets it once the app registry is ready)."""
    through = field.remote_field.through
    if through is None:
        raise TransferError(f"{field} has no through model yet: the app registry is not ready.")
    return through


def _auto_through_fields(model: type[models.Model]) -> list[models.ManyToManyField]:
    return [f for f in model._meta.local_many_to_many if _through(f)._meta.auto_created]


def carried_labels() -> list[str]:
    """Every table the export writes, in order (auto-created many-to-many tables included)."""
    labels = []
    for spec in CARRIED:
        model = apps.get_model(spec.label)
        labels.append(spec.label)
        labels.extend(
            _through(f)._meta.label_lower for f in _auto_through_fields(model) if f.name not in spec.refused_m2m
        )
    return labels


def carried_tables(consultation: Consultation, *, using: str = DEFAULT_DB_ALIAS) -> list[Table]:
    """The consultation's rows, table by table, as querysets the database resolves itself.

    Organisations and users are the ones that a carried row points at; they are chosen with
    subqueries, so a consultation with a million comments does not pull ids into Python.
    """
    chosen: dict[str, QuerySet] = {}
    for spec in CARRIED:
        if spec.consultation:
            model = apps.get_model(spec.label)
            chosen[spec.label] = model._base_manager.using(using).filter(**{spec.consultation: consultation.pk})
    # Users first (they are pointed at by consultation rows), then organisations (pointed at by
    # those rows and by the users).
    for spec in reversed(CARRIED):
        if not spec.referenced:
            continue
        model = apps.get_model(spec.label)
        condition = Q(pk__in=[])
        for label, rows in chosen.items():
            for field in _columns(apps.get_model(label)):
                if field.is_relation and field.related_model is model:
                    condition |= Q(pk__in=rows.values(field.attname))
        chosen[spec.label] = model._base_manager.using(using).filter(condition)
    users = chosen["accounts.user"]
    for spec in CARRIED:
        if spec.user:
            model = apps.get_model(spec.label)
            chosen[spec.label] = model._base_manager.using(using).filter(**{f"{spec.user}__in": users})

    tables = []
    for spec in CARRIED:
        model = apps.get_model(spec.label)
        rows = chosen[spec.label]
        for name in spec.refused_m2m:
            field = model._meta.get_field(name)
            through = field.remote_field.through
            if through._base_manager.using(using).filter(**{f"{field.m2m_field_name()}__in": rows}).exists():
                raise TransferError(
                    f"A carried row of {spec.label} has {name}, which the export does not carry; "
                    "remove them first or back up with pg_dump."
                )
        tables.append(Table(spec.label, model, rows))
        for field in _auto_through_fields(model):
            if field.name in spec.refused_m2m:
                continue
            through = _through(field)
            links = through._base_manager.using(using).filter(**{f"{field.m2m_field_name()}__in": rows})
            tables.append(Table(through._meta.label_lower, through, links))
    return tables


# --- values -------------------------------------------------------------------------------


def _encode(field: models.Field, value: Any) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TransferError(f"Cannot carry a {type(value).__name__} in {field.model._meta.label}.{field.name}.")


# Column types whose Python value is already what JSON carries (FKs are judged by their target).
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
    "FloatField",
    "CharField",
    "TextField",
    "SlugField",
    "FileField",
    "JSONField",
}


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(UTC) if value.tzinfo else value).isoformat()


def _encoder(field: models.Field):
    """The function that turns this column's values into JSON (None: as they are), chosen once per table."""
    kind = (field.target_field if isinstance(field, models.ForeignObject) else field).get_internal_type()
    if kind in _AS_IS:
        return None
    if kind == "DateTimeField":
        return _datetime
    return lambda value: _encode(field, value)


def _line(obj: Any) -> bytes:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


# --- export -------------------------------------------------------------------------------


class _ByteSink(Protocol):
    """Where an export is written: a file, or the gzip stream around one."""

    def write(self, data: bytes, /) -> int: ...


class _HashingWriter:
    def __init__(self, stream: _ByteSink):
        self.stream = stream
        self.digest = hashlib.sha256()

    def write(self, obj: Any) -> None:
        data = _line(obj)
        self.digest.update(data)
        self.stream.write(data)


def export_consultation(
    *, slug: str, path: Path, with_files: bool = True, using: str = DEFAULT_DB_ALIAS
) -> TransferSummary:
    """Write the consultation to `path` (mode 0600: it holds password hashes and MFA secrets).

    The rows are read in one REPEATABLE READ transaction, so the file is one consistent moment
    even while people keep commenting. The file appears whole or not at all (written beside it,
    then renamed). The export is then recorded in the consultation's audit log.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as raw:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
                    summary, consultation = _export_to(stream, slug=slug, with_files=with_files, using=using)
            else:
                summary, consultation = _export_to(raw, slug=slug, with_files=with_files, using=using)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    audit_log(
        actor=None,
        action="consultation.exported",
        target=consultation,
        consultation=consultation,
        data={"sha256": summary.sha256, "rows": summary.rows, "files": summary.files},
    )
    return summary


def _export_to(stream: _ByteSink, *, slug: str, with_files: bool, using: str):
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        consultation = Consultation.objects.using(using).filter(slug=slug).first()
        if consultation is None:
            raise TransferError(f"There is no consultation '{slug}'.")
        tables = carried_tables(consultation, using=using)
        counts = {table.label: table.rows.count() for table in tables}
        writer = _HashingWriter(stream)
        writer.write(
            {
                "format": FORMAT,
                "version": VERSION,
                "consultation": {"id": consultation.pk, "slug": consultation.slug},
                "files": with_files,
                "tables": [{"model": t.label, "rows": counts[t.label]} for t in tables],
            }
        )
        file_names: set[str] = set()
        total = 0
        for table in tables:
            columns = _columns(table.model)
            names = [f.attname for f in columns]
            encoders = [(i, encode) for i, encode in enumerate(map(_encoder, columns)) if encode]
            file_columns = [i for i, f in enumerate(columns) if isinstance(f, models.FileField)]
            values = table.rows.order_by("pk").values_list(*names)
            for row in values.iterator(chunk_size=2000):
                if encoders:
                    row = list(row)
                    for i, encode in encoders:
                        row[i] = encode(row[i])
                writer.write([table.label, dict(zip(names, row, strict=True))])
                file_names.update(row[i] for i in file_columns if row[i])
                total += 1
        files = 0
        if with_files:
            for name in sorted(file_names):
                writer.write([FILE_KIND, _file_entry(name)])
                files += 1
        sha256 = writer.digest.hexdigest()
        # The trailer is outside the checksum it carries.
        stream.write(_line({"files": files, "rows": total, "sha256": sha256}))
    summary = TransferSummary(consultation=consultation.slug, rows=total, files=files, sha256=sha256, tables=counts)
    return summary, consultation


def _file_entry(name: str) -> dict[str, Any]:
    try:
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        # A row pointing at a file already gone: carried as it is, and said so in the file.
        return {"missing": True, "name": name}
    return {
        "content": base64.b64encode(content).decode("ascii"),
        "name": name,
        "sha256": hashlib.sha256(content).hexdigest(),
    }


# --- reading a file -----------------------------------------------------------------------


def _raw_lines(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
            handle.seek(0)
            stream = gzip.GzipFile(fileobj=handle, mode="rb") if magic == b"\x1f\x8b" else handle
            yield from stream
    except FileNotFoundError as exc:
        raise TransferError(f"There is no file {path}.") from exc
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile and zlib errors are OSErrors
        raise TransferError(f"The file {path} is damaged: {exc}") from exc


def _parse(raw: bytes, number: int) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise TransferError(f"Line {number} of the file is not valid JSON: the file is damaged.") from exc


def _checked_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Every line but the trailer; raises at the end unless they hash to the trailer's checksum."""
    digest = hashlib.sha256()
    previous: bytes | None = None
    number = 0
    for raw in _raw_lines(path):
        if previous is not None:
            digest.update(previous)
            yield number, previous
        number += 1
        previous = raw
    if previous is None:
        raise TransferError("The file is empty.")
    trailer = _parse(previous, number)
    if not isinstance(trailer, dict) or "sha256" not in trailer:
        raise TransferError("The file ends without its checksum: it is truncated or damaged.")
    if trailer["sha256"] != digest.hexdigest():
        raise TransferError("The file's checksum does not match its contents: it was changed or damaged.")


def read_header(path: Path) -> dict[str, Any]:
    """Check the whole file against its checksum and return its header; touches no database."""
    header = None
    for number, raw in _checked_lines(path):
        if header is None:
            header = _parse(raw, number)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError("This is not a consultation export.")
    if header.get("version") != VERSION:
        raise TransferError(
            f"The file is in format version {header.get('version')}; this site reads version {VERSION}."
        )
    tables = header.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict) and isinstance(t.get("model"), str) and isinstance(t.get("rows"), int) for t in tables
    ):
        raise TransferError("The file's header does not list its tables.")
    if not isinstance(header.get("consultation"), dict) or not isinstance(header["consultation"].get("id"), int):
        raise TransferError("The file's header does not name its consultation.")
    return header


# --- import -------------------------------------------------------------------------------


def import_consultation(*, path: Path, using: str = DEFAULT_DB_ALIAS) -> TransferSummary:
    """Load an export into this database, which must hold none of the rows of its tables.

    All or nothing: one transaction, and the stored files written are removed again if it
    fails. The import is recorded in the audit log outside the consultation (consultation
    empty), so that the restored consultation's own record stays exactly the one exported.
    """
    path = Path(path)
    header = read_header(path)
    expected = [(t["model"], t["rows"]) for t in header["tables"]]
    tables: dict[str, type[models.Model]] = {}
    for label, _rows in expected:
        try:
            tables[label] = apps.get_model(MOVED.get(label, label))
        except (LookupError, ValueError) as exc:
            raise TransferError(f"This site has no table {label}; import with the version that made the file.") from exc

    written: list[str] = []
    try:
        with transaction.atomic(using=using):
            occupied = [label for label, model in tables.items() if model._base_manager.using(using).exists()]
            if occupied:
                raise TransferError(
                    "The database already holds rows of "
                    + ", ".join(occupied)
                    + ". Import only into an empty database (freshly migrated, no account created)."
                )
            counts, total, files, sha256 = _insert_rows(path, expected, tables, written, using)
            connection = connections[using]
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), list(tables.values())):
                    cursor.execute(sql)
            consultation = Consultation.objects.using(using).get(pk=header["consultation"]["id"])
            audit_log(
                actor=None,
                action="consultation.imported",
                target=consultation,
                data={"sha256": sha256, "rows": total, "files": files},
            )
    except DatabaseError as exc:
        _remove(written)
        raise TransferError(f"The file's rows do not fit together in this database: {exc}") from exc
    except BaseException:
        _remove(written)
        raise
    return TransferSummary(consultation=consultation.slug, rows=total, files=files, sha256=sha256, tables=counts)


def _insert_rows(path, expected, tables, written, using):
    order = [label for label, _rows in expected]
    loaders = {label: _TableLoader(model, using) for label, model in tables.items()}
    counts = dict.fromkeys(order, 0)
    position = 0  # index in `order` of the table being read; tables come in header order
    batch: list = []
    total = files = 0
    digest = hashlib.sha256()
    first = True
    for number, raw in _checked_lines(path):
        digest.update(raw)
        if first:
            first = False
            continue
        item = _parse(raw, number)
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            raise TransferError(f"Line {number} is not a row of the export format.")
        label, values = item
        if label == FILE_KIND:
            if batch:
                loaders[order[position]].flush(batch)
                batch = []
            position = len(order)
            files += _restore_file(values, written, number)
            continue
        if label not in tables or order.index(label) < position:
            raise TransferError(f"Line {number}: rows of {label} out of their place in the file.")
        if order.index(label) != position:
            if batch:
                loaders[order[position]].flush(batch)
                batch = []
            position = order.index(label)
        batch.append(loaders[label].row(values, number))
        counts[label] += 1
        total += 1
        if len(batch) >= BATCH_SIZE:
            loaders[label].flush(batch)
            batch = []
    if batch:
        loaders[order[position]].flush(batch)
    for label, rows in expected:
        if counts[label] != rows:
            raise TransferError(f"The file announces {rows} rows of {label} but holds {counts[label]}.")
    return counts, total, files, digest.hexdigest()


def _decoder(field: models.Field):
    """The function that turns this column's JSON back into a Python value (None: as it is)."""
    if isinstance(field, models.JSONField):
        return None
    kind = (field.target_field if isinstance(field, models.ForeignObject) else field).get_internal_type()
    if kind in _AS_IS:
        return None
    if kind == "DateTimeField":
        return datetime.fromisoformat
    return field.to_python


class _TableLoader:
    """Inserts rows of one table as they are: no save(), no signals, no auto_now stamps.

    On PostgreSQL with COPY (the fastest way in); elsewhere with Django's raw insert, the one
    loaddata uses. A field the file lacks (added since) gets its default.
    """

    def __init__(self, model: type[models.Model], using: str):
        self.model = model
        self.using = using
        self.connection = connections[using]
        self.columns = _columns(model)
        self.index = {f.attname: i for i, f in enumerate(self.columns)}
        self.decoders = [_decoder(f) for f in self.columns]
        self.copy = self.connection.vendor == "postgresql"
        quote = self.connection.ops.quote_name
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(_column_name(f)) for f in self.columns)
        )

    def row(self, values: dict[str, Any], number: int):
        unknown = values.keys() - self.index.keys()
        if unknown:
            raise TransferError(
                f"Line {number}: {self.model._meta.label_lower} has no field {', '.join(sorted(unknown))} on "
                "this site; import with the version of the platform that made the file, or a later one."
            )
        python = []
        try:
            for field, decode in zip(self.columns, self.decoders, strict=True):
                if field.attname not in values:
                    python.append(field.get_default())
                    continue
                value = values[field.attname]
                python.append(value if decode is None or value is None else decode(value))
            if not self.copy:
                return self.model(**{f.attname: v for f, v in zip(self.columns, python, strict=True)})
            return [f.get_db_prep_save(v, self.connection) for f, v in zip(self.columns, python, strict=True)]
        except Exception as exc:  # a value the field cannot take (ValidationError, ValueError, TypeError)
            raise TransferError(f"Line {number}: a value of {self.model._meta.label_lower} is invalid: {exc}") from exc

    def flush(self, batch: list) -> None:
        if not self.copy:
            self.model._base_manager.using(self.using)._insert(batch, fields=self.columns, raw=True, using=self.using)  # type: ignore[attr-defined]  # private QuerySet API, not in django-stubs
            return
        with self.connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
            for values in batch:
                copy.write_row(values)


def _restore_file(entry: dict[str, Any], written: list[str], number: int) -> int:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise TransferError(f"Line {number}: a stored file without a name.")
    if entry.get("missing"):
        return 0
    try:
        content = base64.b64decode(entry["content"], validate=True)
    except (KeyError, ValueError) as exc:
        raise TransferError(f"Line {number}: the stored file {name} is damaged.") from exc
    if hashlib.sha256(content).hexdigest() != entry.get("sha256"):
        raise TransferError(f"Line {number}: the stored file {name} does not match its checksum.")
    if default_storage.exists(name):
        raise TransferError(f"A stored file {name} already exists; import only into an empty site.")
    saved = default_storage.save(name, ContentFile(content))
    written.append(saved)
    if saved != name:
        raise TransferError(f"The storage renamed {name} to {saved}; import only into an empty site.")
    return 1


def _remove(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
