"""Celery tasks of the consolidation app, one module per concern (autodiscovered from here)."""

from .carry_over import *  # noqa: F401,F403
from .consolidate import *  # noqa: F401,F403
from .counts import *  # noqa: F401,F403
from .reports import *  # noqa: F401,F403
from .sweep import *  # noqa: F401,F403
