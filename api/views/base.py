"""Shared pieces of the API views: scoped fetches (404 outside the caller's scope)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets

from api.permissions import RulesPermission
from comments.models import Comment
from comments.selectors import get_comment_for_user
from consultations.models import Consultation, EngagementRound
from consultations.selectors import get_consultation_for_user, get_round_by_id_for_user


def consultation_or_404(request, slug: str) -> Consultation:
    return get_consultation_for_user(user=request.user, slug=slug)


def round_or_404(request, pk) -> EngagementRound:
    """A round of a consultation the caller takes part in (or any, for a site admin), else 404."""
    return get_round_by_id_for_user(user=request.user, pk=pk)


def comment_or_404(request, pk) -> Comment:
    return get_comment_for_user(user=request.user, pk=pk)


class ApiViewSet(viewsets.GenericViewSet):
    permission_classes = [RulesPermission]
    # The path converter of the object's id in the URLs the routers build (api/urls.py).
    lookup_value_converter = "int"
    # action -> the django-rules permission it needs (asked about get_rule_object(obj))
    rule_permissions: dict[str, str] = {}
    # actions that change a comment and need If-Match (documented as 412/428)
    if_match_actions: tuple[str, ...] = ()
    # Each viewset names its model with `Model.objects.none()` (the schema reads it); reads go
    # through scoped_queryset().
    queryset: QuerySet[Any]

    def get_rule_object(self, obj):
        return obj

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request to scope by
            return self.queryset
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise NotImplementedError
