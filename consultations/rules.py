"""Who may do what in a consultation and its rounds, as named predicates (django-rules).

This module is the one home of the role rules every app builds on:
  * the roles (is_secretariat, is_consultant, is_member_state, is_partner, is_focal_point),
  * who organises a consultation (`is_organiser`: site admins, the secretariat, the consultants),
  * who may comment in a round (`may_comment_in_round`: a participant whose role the round lists).
Other apps combine these into their own permissions (comments/rules.py, consolidation/rules.py);
none of them re-derives a role from a participation. Whether a round is open *now* for the
viewer's organisation is a matter of time, not of role: consultations.access.round_access.

Consultation predicates take (user, consultation), round predicates (user, engagement_round).
Views and the API use the same permissions: consultations.view_consultation,
consultations.manage_rounds, consultations.manage_versions, consultations.invite_participants,
consultations.view_audit.
"""

import rules

from .models import Participation, Role


def _participation_cache(user) -> dict[int, Participation | None]:
    # request.user is a lazy wrapper: cache on the real user so every caller shares it.
    user = getattr(user, "_wrapped", user)
    return user.__dict__.setdefault("_participation_cache", {})


def remember_participation(user, consultation, participation: Participation | None) -> None:
    """Tell participation_for what a query that read the user's participation with other rows found
    (comments.selectors.writing_target_for_user reads it with the round): no query of its own then.
    `participation` must be the user's in `consultation`, or None when there is none."""
    if getattr(user, "is_authenticated", False) and consultation is not None:
        _participation_cache(user)[consultation.pk] = participation


def participation_for(user, consultation) -> Participation | None:
    """The user's participation in a consultation, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or consultation is None:
        return None
    cache = _participation_cache(user)
    user = getattr(user, "_wrapped", user)
    if consultation.pk not in cache:
        # get(), not first(): one row at most (unique per user and consultation), and first() would
        # sort by the model's ordering, joining the consultation and the user only to sort one row.
        try:
            participation = Participation.objects.select_related("organisation").get(
                user=user, consultation=consultation
            )
        except Participation.DoesNotExist:
            participation = None
        cache[consultation.pk] = participation
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


# The people who run the consultation and act for an organisation in it.
is_consultation_team = is_secretariat | is_consultant
# Who decides for the consultation (rounds, invitations, consolidation, decisions): its secretariat,
# with the site admins standing in.
is_decision_maker = is_site_admin | is_secretariat
# Who organises a consultation: sees every submitted comment, its history and the proposals.
is_organiser = is_site_admin | is_consultation_team


def role_may_comment(role: str | None, engagement_round) -> bool:
    """Whether participants with `role` comment in this round (the round lists its commenting roles)."""
    return role is not None and role in (engagement_round.commenting_roles or [])


@rules.predicate
def may_comment_in_round(user, engagement_round) -> bool:
    """A participant whose role the round lists. Site admins run the window; they do not comment."""
    participation = participation_for(user, engagement_round.consultation)
    return participation is not None and role_may_comment(participation.role, engagement_round)


@rules.predicate
def is_organiser_of_round(user, engagement_round) -> bool:
    return is_organiser(user, engagement_round.consultation)


@rules.predicate
def is_team_of_round(user, engagement_round) -> bool:
    return is_consultation_team(user, engagement_round.consultation)


@rules.predicate
def is_focal_point_in_round(user, engagement_round) -> bool:
    return is_focal_point(user, engagement_round.consultation)


can_view_consultation = is_site_admin | is_participant
can_manage_rounds = is_decision_maker
can_manage_versions = is_organiser
can_invite_participants = is_decision_maker
# The audit log of a consultation: its secretariat and the site admins; everyone else gets a 404
# (pages, API, CSV alike), as for anything they may not see.
can_view_audit = is_decision_maker

rules.add_perm("consultations.view_consultation", can_view_consultation)
rules.add_perm("consultations.manage_rounds", can_manage_rounds)
rules.add_perm("consultations.manage_versions", can_manage_versions)
rules.add_perm("consultations.invite_participants", can_invite_participants)
rules.add_perm("consultations.view_audit", can_view_audit)
