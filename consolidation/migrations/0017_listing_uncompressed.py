"""A run's listing stored as it is, not compressed (PostgreSQL's EXTERNAL storage).

Packed comment ids compress to about half, but compressing them was most of the time of
writing the listing: at 100,000 comments 70-80 ms with lz4 (migration 0013) and 30 ms more for
the campaigns' ids with the default pglz, against 6 ms stored as they are. An incremental run
writes it every time (docs/performance.md). SQLite stores what it is given either way.
"""

from django.db import migrations

TABLE = "consolidation_consolidationlisting"
COLUMNS = ("comment_ids", "campaign_ids")


def _storage(schema_editor, storage: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {column} SET STORAGE {storage}")


def external(apps, schema_editor):
    _storage(schema_editor, "EXTERNAL")


def extended(apps, schema_editor):
    _storage(schema_editor, "EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0016_grouping_texts_added")]

    operations = [migrations.RunPython(external, extended, elidable=False)]
