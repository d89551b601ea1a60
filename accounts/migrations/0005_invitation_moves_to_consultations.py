# The invitation model belongs to consultations now (consultations.0002_invitation): it leaves the
# accounts app's state here, and its table, with its rows, is taken over and renamed there.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_role_is_organisation_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Invitation')],
            database_operations=[],
        ),
    ]
