"""What the Django admin needs to stay fast on big tables (a million comments, the audit log).

* `BoundedCountPaginator` counts at most COUNT_LIMIT rows (`SELECT count(*) FROM (... LIMIT n)`),
  so a changelist never counts a whole table; past the limit it says "more than" and offers the
  first pages. Filters and search narrow it down.
* `BigTableAdmin` sets it with `show_full_result_count = False` (no second count of the
  unfiltered table) and an ordering on the primary key (an index scan, not a sort).
* `ReadOnlyAdmin` shows rows and lets nobody add, change or delete them, superusers included: the
  record of what happened (audit entries, consolidation runs, carried anchors) is never edited by
  hand, and decisions go through the services on the site's pages.

Shared kit: imports Django only, no app.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """A paginator whose count stops at COUNT_LIMIT + 1; `capped` says that it did."""

    limit = COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        object_list: Any = self.object_list
        if hasattr(object_list, "query"):
            return object_list[: self.limit + 1].count()
        return len(object_list)

    @property
    def capped(self) -> bool:
        return self.count > self.limit


class BigTableAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    ordering = ("-pk",)
    list_per_page = 50


class ReadOnlyAdmin(BigTableAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
