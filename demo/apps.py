from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo consultation (ADM 2030) and its commands seed_demo and demo_accounts; nothing imports it."""

    name = "demo"
    verbose_name = _("Demo data")
