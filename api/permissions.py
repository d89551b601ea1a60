"""The API asks the same django-rules permissions as the pages; no rule lives in a view.

A view names, per action, the permission it needs (`rule_permissions = {"create":
"consultations.manage_rounds"}`) and the object the rule is asked about
(`get_rule_object(obj)`; by default the object itself). Objects are fetched through the
scoped selectors first, so anything outside the caller's scope is a 404 before any rule
is asked and a 403 never hints that something exists.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class RulesPermission(BasePermission):
    message = "You are not allowed to do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = getattr(view, "rule_permissions", {}).get(getattr(view, "action", None))
        if perm is None:
            return True
        target = view.get_rule_object(obj) if hasattr(view, "get_rule_object") else obj
        return request.user.has_perm(perm, target)


def check(view, request, obj) -> None:
    """Ask the view's rule for `obj` now (for actions whose object is a parent, e.g. create)."""
    view.check_object_permissions(request, obj)
