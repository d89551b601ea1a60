"""A run's campaigns packed in its listing (result schema 4), stored as they are.

They were 60% of a run's result JSON at 100,000 comments (14,000 campaigns, 1.2 of 2 MB), which
PostgreSQL parses on every write of a run: a tenth of an incremental run. Stored uncompressed
as the listing's other columns (migration 0017).
"""

from django.db import migrations, models

TABLE = "consolidation_consolidationlisting"
COLUMNS = ("campaigns", "campaign_section_ids")


def external(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {column} SET STORAGE EXTERNAL")


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0020_carried_anchors_without_constraints")]

    operations = [
        migrations.AddField(
            model_name="consolidationlisting",
            name="campaign_section_ids",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.AddField(
            model_name="consolidationlisting",
            name="campaigns",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.RunPython(external, migrations.RunPython.noop, elidable=False),
    ]
