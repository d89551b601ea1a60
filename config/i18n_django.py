"""Django strings whose Vietnamese translation Django itself lacks.

Django's own Vietnamese catalogue still has the old "%d week" forms of the durations that
`timesince`/`timeuntil` show ("2 weeks, 4 days left"), so round countdowns came out in English.
Listing the current msgids here lets `makemessages` put them in our catalogue, which Django
consults before its own (LOCALE_PATHS). Nothing imports this module.
"""

from django.utils.translation import ngettext_lazy

TIMESINCE_CHUNKS = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)
