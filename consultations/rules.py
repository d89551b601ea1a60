"""Who may do what in a consultation, as named predicates (django-rules).

Predicates take (user, consultation). Views and the API use the same permissions:
  consultations.view_consultation, consultations.manage_rounds, consultations.manage_versions,
  consultations.invite_participants, consultations.view_audit.
"""

import rules

from .models import Participation, Role


def participation_for(user, consultation) -> Participation | None:
    """The user's participation in a consultation, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or consultation is None:
        return None
    # request.user is a lazy wrapper: cache on the real user so every caller shares it.
    user = getattr(user, "_wrapped", user)
    cache = user.__dict__.setdefault("_participation_cache", {})
    if consultation.pk not in cache:
        cache[consultation.pk] = (
            Participation.objects.select_related("organisation").filter(user=user, consultation=consultation).first()
        )
    return cache[consultation.pk]


@rules.predicate
def is_site_admin(user) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


@rules.predicate
def is_participant(user, consultation) -> bool:
    return participation_for(user, consultation) is not None


def _has_role(role: str):
    @rules.predicate(name=f"is_{role}")
    def predicate(user, consultation) -> bool:
        participation = participation_for(user, consultation)
        return participation is not None and participation.role == role

    return predicate


is_secretariat = _has_role(Role.SECRETARIAT)
is_consultant = _has_role(Role.CONSULTANT)
is_member_state = _has_role(Role.MEMBER_STATE)
is_partner = _has_role(Role.PARTNER)


@rules.predicate
def is_focal_point(user, consultation) -> bool:
    participation = participation_for(user, consultation)
    return participation is not None and participation.role == Role.MEMBER_STATE and participation.is_focal_point


can_view_consultation = is_site_admin | is_participant
can_manage_rounds = is_site_admin | is_secretariat
can_manage_versions = is_site_admin | is_secretariat | is_consultant
can_invite_participants = is_site_admin | is_secretariat
# The audit log of a consultation: its secretariat and the site admins; everyone else gets a 404
# (pages, API, CSV alike), as for anything they may not see.
can_view_audit = is_site_admin | is_secretariat

rules.add_perm("consultations.view_consultation", can_view_consultation)
rules.add_perm("consultations.manage_rounds", can_manage_rounds)
rules.add_perm("consultations.manage_versions", can_manage_versions)
rules.add_perm("consultations.invite_participants", can_invite_participants)
rules.add_perm("consultations.view_audit", can_view_audit)
