"""A partial index of the grouping state's texts added since the full run (PostgreSQL only: the
incremental state is kept there alone, and SQLite has no array_length)."""

from django.db import migrations, models

INDEX = models.Index(condition=models.Q(("bands__len__gt", 0)), fields=["state"], name="grouping_texts_added")


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def add(apps, schema_editor):
    if _postgresql(schema_editor):
        schema_editor.add_index(apps.get_model("consolidation", "GroupingText"), INDEX)


def remove(apps, schema_editor):
    if _postgresql(schema_editor):
        schema_editor.remove_index(apps.get_model("consolidation", "GroupingText"), INDEX)


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0015_listing_campaign_ids")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="groupingtext", index=INDEX)],
            database_operations=[migrations.RunPython(add, remove)],
        )
    ]
