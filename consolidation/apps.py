from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsolidationConfig(AppConfig):
    name = "consolidation"
    verbose_name = _("Consolidation and reports")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import receivers, sqlite_functions

        receivers.connect()
        connection_created.connect(sqlite_functions.add_to_sqlite, dispatch_uid="consolidation.sqlite_functions")
