"""A duplicate group's keys to its run and its section without constraints in the database (see the model).

Django still deletes a run's or a section's groups with it. The constraints' deferred checks took
80 ms of an incremental run's COMMIT at 100,000 comments (7,500 groups).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consolidation", "0017_listing_uncompressed"),
        ("consultations", "0007_section_text_search"),
    ]

    operations = [
        migrations.AlterField(
            model_name="duplicategroup",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="groups",
                to="consolidation.consolidationrun",
            ),
        ),
        migrations.AlterField(
            model_name="duplicategroup",
            name="section",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="consultations.section",
            ),
        ),
    ]
