"""An incremental grouping state's near groups' lowest similarities as packed records, not JSON.

The state is a cache (see GroupingState): the column is replaced, not converted. A state kept
before has none, so the next run computes every near group's lowest similarity again, once.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0018_duplicate_groups_without_constraints")]

    operations = [
        migrations.RemoveField(model_name="groupingstate", name="similarities"),
        migrations.AddField(
            model_name="groupingstate",
            name="similarities",
            field=models.BinaryField(blank=True, default=b""),
        ),
    ]
