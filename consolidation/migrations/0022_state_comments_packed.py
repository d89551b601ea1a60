"""The grouping state's comments packed in the state (services.incremental.pack_comments), not a
row each: an incremental run compared the round's comments with them by a join in SQL, a fifth
of its time at 100,000 comments; now it reads the comments alone and compares in numpy.

The state is a cache: the states kept before are dropped here (their comments are not in the new
column), and each round's next consolidation is full and keeps a new one.
"""

from django.db import migrations, models

TABLES = ("consolidation_groupingtext", "consolidation_groupingpair", "consolidation_groupingstate")


def drop_states(apps, schema_editor):
    for table in TABLES:
        schema_editor.execute(f"DELETE FROM {table}")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE consolidation_groupingstate ALTER COLUMN comments SET STORAGE EXTERNAL")


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0021_listing_campaigns")]

    operations = [
        migrations.AddField(
            model_name="groupingstate",
            name="comments",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.DeleteModel(name="GroupingComment"),
        migrations.RunPython(drop_states, migrations.RunPython.noop, elidable=False),
    ]
