"""Request throttles per person and per IP address, counted in the default cache.

Rates come from settings.API_THROTTLE_RATES at request time (DRF's own classes read them
once at import), so an operator or a test can change them without a restart of the module.
The counts go to DRF's `cache`, which is django.core.cache.cache: a proxy that finds the
default cache (Redis in production) at each use, not the one configured at import.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # No scope, no rate: the request is not throttled (as before scopes were typed).
        return settings.API_THROTTLE_RATES.get(self.scope) if self.scope is not None else None


class UserThrottle(_SettingsRate, UserRateThrottle):
    pass


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    pass
