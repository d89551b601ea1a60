"""What the Django admin needs to stay fast on big tables (a million comments, the audit log).

* `BoundedCountPaginator` counts at most COUNT_LIMIT rows (`SELECT count(*) FROM (... LIMIT n)`),
  so a changelist never counts a whole table; past the limit it says "more than" and offers the
  first pages. Filters and search narrow it down.
* `BigTableAdmin` sets it with `show_full_result_count = False` (no second count of the
  unfiltered table) and an ordering on the primary key (an index scan, not a sort).
* `ReadOnlyAdmin` shows rows and lets nobody add, change or delete them, superusers included: the
  record of what happened (audit entries, consolidation runs, carried anchors) is never edited by
  hand, and decisions go through the services on the site's pages.
* `LabelledInputsMixin` and `LabelledTabularInline` name the inputs Django's admin leaves without
  a label (a split date and time, a tabular inline's cells and Delete boxes), for screen readers.

Shared kit: imports Django only, no app.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.paginator import Paginator
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

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


class LabelledInputsMixin(admin.options.BaseModelAdmin):
    """Names the inputs that Django's admin leaves without a <label> of their own.

    A split date and time field has one label for two inputs, and a tabular inline's cells have
    only their column's heading: screen readers announce such inputs without a name (axe-core:
    critical). Each gets an aria-label: "Opens at: Date", or the column's name.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is None:
            return None
        widget = field.widget
        if isinstance(widget, RelatedFieldWidgetWrapper):  # the select inside "add another" links
            widget = widget.widget
        if isinstance(widget, forms.SplitDateTimeWidget):
            for part, name in zip(widget.widgets, (_("Date"), _("Time")), strict=True):
                part.attrs.setdefault("aria-label", format_lazy("{}: {}", capfirst(field.label), name))
        elif isinstance(self, admin.TabularInline) and not isinstance(widget, forms.HiddenInput):
            widget.attrs.setdefault("aria-label", capfirst(field.label))
        return field


class LabelledTabularInline(LabelledInputsMixin, admin.TabularInline):
    """A tabular inline whose inputs, its rows' Delete boxes included, have names."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):  # type: ignore[valid-type,misc]
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs.setdefault("aria-label", _("Delete"))

        return Labelled
