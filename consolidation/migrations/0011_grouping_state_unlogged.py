"""The incremental grouping state written cheaply: it is a cache, not a record.

The state (GroupingState and its comments, texts and pairs) is rebuilt by any full run, and a
run without it is simply full. At a million comments, keeping it cost a full run's merge most
of its time (docs/architecture.md, "Incremental consolidation"), so on PostgreSQL:
* its tables are UNLOGGED: written without the write-ahead log; after a crash PostgreSQL
  empties them and the next run is full (they are not copied to streaming replicas either);
* the children's rows (millions, by COPY) have no foreign-key constraint: a deferred check per
  row made the snapshot's COMMIT take seconds; `incremental.forget` deletes them with the state;
* the band index (hundreds of MB of hashes, which do not compress) is stored uncompressed.
"""

import django.db.models.deletion
from django.db import migrations, models

# The tables that reference the state first (a logged table may not reference an unlogged one).
TABLES = (
    "consolidation_groupingcomment",
    "consolidation_groupingtext",
    "consolidation_groupingpair",
    "consolidation_groupingstate",
)


def _run(schema_editor, statements):
    if schema_editor.connection.vendor == "postgresql":
        for statement in statements:
            schema_editor.execute(statement)


def cheap(apps, schema_editor):
    _run(
        schema_editor,
        [f"ALTER TABLE {table} SET UNLOGGED" for table in TABLES]
        + ["ALTER TABLE consolidation_groupingstate ALTER COLUMN band_index SET STORAGE EXTERNAL"],
    )


def durable(apps, schema_editor):
    _run(
        schema_editor,
        ["ALTER TABLE consolidation_groupingstate ALTER COLUMN band_index SET STORAGE EXTENDED"]
        + [f"ALTER TABLE {table} SET LOGGED" for table in reversed(TABLES)],  # the state first
    )


def _state_field():
    return models.ForeignKey(
        db_constraint=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="+",
        to="consolidation.groupingstate",
    )


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0010_incremental_consolidation")]

    operations = [
        migrations.AlterField(model_name="groupingcomment", name="state", field=_state_field()),
        migrations.AlterField(model_name="groupingpair", name="state", field=_state_field()),
        migrations.AlterField(model_name="groupingtext", name="state", field=_state_field()),
        migrations.RunPython(cheap, durable, elidable=False),
    ]
