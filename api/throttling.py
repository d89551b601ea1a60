"""Request throttles per person and per IP address, counted in the default cache.

Rates come from settings.API_THROTTLE_RATES at request time (DRF's own classes read them
once at import), so an operator or a test can change them without a restart of the module.
"""

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    scope: str

    @property
    def cache(self):
        # The default cache at request time (Redis in production), not the one at import.
        return cache

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


class UserThrottle(_SettingsRate, UserRateThrottle):
    pass


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    pass
