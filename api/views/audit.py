"""A consultation's audit log for its secretariat and the site admins; a 404 for anyone else.

Cursor-paginated on the chain's sequence number (oldest first; ?ordering=-seq for newest
first), so a client can read the whole chain and verify its hashes (see docs/audit.md).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from api.pagination import IdCursorPagination
from api.serializers.audit import AuditEntrySerializer
from audit.models import AuditEntry
from audit.selectors import entries_of
from consultations.selectors import get_consultation_for_audit

from .base import ApiViewSet

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The consultation's short name.")


class ChainCursorPagination(IdCursorPagination):
    ordering = "seq"  # unique within one consultation's chain


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(method="by_action", help_text="An action code, e.g. round.opened.")
    actor = django_filters.CharFilter(method="by_actor", help_text="The actor's e-mail address.")

    class Meta:
        model = AuditEntry
        fields = ["action", "actor"]

    def by_action(self, queryset, name, value):
        return queryset.filter(action=value.strip())

    def by_actor(self, queryset, name, value):
        return queryset.filter(actor_label=value.strip().lower())


@extend_schema_view(
    list=extend_schema(
        summary="The consultation's audit log: every change and export, with its place in the hash chain "
        "(secretariat and site admins)",
        tags=["audit"],
        parameters=[SLUG],
    ),
)
class AuditEntryViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.none()
    pagination_class = ChainCursorPagination
    filterset_class = AuditFilter
    ordering_fields = ["seq"]

    def scoped_queryset(self):
        consultation = get_consultation_for_audit(user=self.request.user, slug=self.kwargs["slug"])
        return entries_of(consultation=consultation)
