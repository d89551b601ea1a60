# The invitation model moves here from accounts, with its rows: the state takes over the table
# accounts_invitation as it is (accounts.0005 dropped it from the accounts state without touching
# the database), then the table is renamed consultations_invitation. Its content type follows, so
# permissions given on invitations stay where they were.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import consultations.models


def move_content_type(apps, schema_editor, old='accounts', new='consultations'):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label=new, model='invitation').exists():
        types.filter(app_label=old, model='invitation').update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old='consultations', new='accounts')


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_invitation_moves_to_consultations'),
        ('consultations', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Invitation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(max_length=254, verbose_name='e-mail address')),
                        ('role', models.CharField(choices=[('secretariat', 'Secretariat'), ('consultant', 'Consultant'), ('member_state', 'Member state'), ('partner', 'Development partner')], max_length=20, verbose_name='role')),
                        ('is_focal_point', models.BooleanField(default=False, verbose_name='focal point')),
                        ('token', models.CharField(default=consultations.models._new_token, editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField(default=consultations.models._default_expiry)),
                        ('accepted_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='e-mail sent at')),
                        ('queued_at', models.DateTimeField(blank=True, help_text='When its e-mail task last reached the broker.', null=True)),
                        ('send_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('send_lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('accepted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('consultation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='consultations.consultation')),
                        ('invited_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='invitations', to='accounts.organisation')),
                    ],
                    options={
                        'verbose_name': 'invitation',
                        'verbose_name_plural': 'invitations',
                        'ordering': ['-created_at'],
                        'db_table': 'accounts_invitation',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name='invitation', table=None),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
