# Disposition belongs to consolidation now. Its table and rows stay where they are; this only
# takes the model out of comments' migration state. consolidation.0003_disposition takes it over
# (state first, with the old table name, then renames the table).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('comments', '0003_reply_without_moderation_fields'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Disposition')],
            database_operations=[],
        ),
    ]
