"""Cursor pagination: stable pages however many comments arrive while a client reads."""

from django.conf import settings
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Pages ordered on the primary key (unique and stable); ?ordering=-id reverses them."""

    ordering = "id"
    page_size_query_param = "page_size"

    def __init__(self):
        # Read per request, so that settings (and tests) can change them.
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE


class PositionCursorPagination(IdCursorPagination):
    """Sections of one version in document order (position is unique within a version)."""

    ordering = "position"
