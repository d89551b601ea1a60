# Disposition moves here from comments, with its rows: the model enters consolidation's state on
# its old table (no database change), then the table (and its index) takes consolidation's name.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DECISIONS = [
    ('accepted', 'Accepted'),
    ('accepted_in_part', 'Accepted in part'),
    ('noted', 'Noted'),
    ('not_accepted', 'Not accepted'),
    ('out_of_scope', 'Out of scope'),
]


class Migration(migrations.Migration):

    dependencies = [
        ('comments', '0004_disposition_moves_to_consolidation'),
        ('consolidation', '0002_job_leases'),
        ('consultations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Disposition',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('proposed_decision', models.CharField(blank=True, choices=DECISIONS, max_length=20, verbose_name='proposed decision')),
                        ('proposed_response', models.TextField(blank=True, verbose_name='proposed response')),
                        ('proposed_at', models.DateTimeField(blank=True, null=True)),
                        ('decision', models.CharField(blank=True, choices=DECISIONS, max_length=20, verbose_name='decision')),
                        ('response', models.TextField(blank=True, verbose_name='response')),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('revision', models.PositiveIntegerField(default=1, help_text="Bumped by every change; the API's ETag.")),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('comment', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='disposition', to='comments.comment')),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('section_change', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='dispositions', to='consultations.section')),
                    ],
                    options={
                        'verbose_name': 'disposition',
                        'verbose_name_plural': 'dispositions',
                        'db_table': 'comments_disposition',
                        'indexes': [models.Index(fields=['decision'], name='comments_di_decisio_2c93a9_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        # None: the default name, consolidation_disposition.
        migrations.AlterModelTable(name='disposition', table=None),
        migrations.RenameIndex(
            model_name='disposition',
            new_name='consolidati_decisio_a20d2d_idx',
            old_name='comments_di_decisio_2c93a9_idx',
        ),
    ]
