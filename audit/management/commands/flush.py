"""`flush`, able to empty the append-only audit table when run by a PostgreSQL superuser.

The audit table's trigger refuses TRUNCATE (migration audit 0005), so Django's own flush (and
with it every test that runs in a real transaction) would fail. A superuser may switch the
session to replica mode, in which ordinary triggers do not fire, for the flush only; any other
role is refused by PostgreSQL and flush then fails on the trigger, as it should.
"""

from django.core.management.commands import flush
from django.db import DatabaseError, connections, transaction


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        replica = False
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
            replica = True
        except DatabaseError:
            pass  # Not a superuser: the trigger refuses the TRUNCATE, and flush says so.
        try:
            return super().handle(**options)
        finally:
            if replica:
                with connection.cursor() as cursor:
                    cursor.execute("RESET session_replication_role")
