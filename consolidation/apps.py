from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsolidationConfig(AppConfig):
    name = "consolidation"
    verbose_name = _("Consolidation and reports")

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
