"""DuplicateGroup.comments through a model of its own, DuplicateGroupMember, on the same table,
then its two foreign keys without constraints in the database (see the model), and no index of
the group's own (the unique index on (group, comment) finds a group's members)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_initial"),
        ("consolidation", "0013_run_result_lz4"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table Django made for the many-to-many field is this model's: only the state moves.
            state_operations=[
                migrations.CreateModel(
                    name="DuplicateGroupMember",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "comment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="comments.comment"
                            ),
                        ),
                        (
                            "duplicategroup",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="consolidation.duplicategroup"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "consolidation_duplicategroup_comments",
                        "verbose_name": "duplicate group member",
                        "verbose_name_plural": "duplicate group members",
                        "unique_together": {("duplicategroup", "comment")},
                    },
                ),
                migrations.AlterField(
                    model_name="duplicategroup",
                    name="comments",
                    field=models.ManyToManyField(
                        related_name="duplicate_groups",
                        through="consolidation.DuplicateGroupMember",
                        to="comments.comment",
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="duplicategroupmember",
            name="comment",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="comments.comment",
            ),
        ),
        migrations.AlterField(
            model_name="duplicategroupmember",
            name="duplicategroup",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="consolidation.duplicategroup",
            ),
        ),
    ]
