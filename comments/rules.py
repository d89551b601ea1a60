"""Who may do what with comments, as named predicates (django-rules).

The role rules (who organises, who may comment in a round) live in consultations/rules.py;
this module only combines them with what is particular to a comment (its author, its
delegation). Object predicates take (user, engagement_round) for creating and (user, comment)
otherwise. Whether the round is open at this second is checked by the services (with the clock
and the organisation's extension, consultations.access.round_window), not here: a closed round
is a 409, not a 403.
"""

import rules

from consultations.rules import (
    is_focal_point_in_round,
    is_organiser,
    is_organiser_of_round,
    is_secretariat,
    is_site_admin,
    is_team_of_round,
    may_comment_in_round,
    participation_for,
)


@rules.predicate
def is_comment_author(user, comment) -> bool:
    return comment.author_id == getattr(user, "pk", None)


@rules.predicate
def is_focal_point_of_comment_org(user, comment) -> bool:
    # A focal point of the comment's own delegation (the round's focal point rule, narrowed).
    if not is_focal_point_in_round(user, comment.round):
        return False
    participation = participation_for(user, comment.round.consultation)
    return participation is not None and participation.organisation_id == comment.organisation_id


@rules.predicate
def is_secretariat_of_comment(user, comment) -> bool:
    return is_secretariat(user, comment.round.consultation)


@rules.predicate
def may_take_part_in_comment_round(user, comment) -> bool:
    """Those who comment in the round and the consultation's team answer and flag (not site admins)."""
    return may_comment_in_round(user, comment.round) or is_team_of_round(user, comment.round)


@rules.predicate
def is_organiser_of_comment(user, comment) -> bool:
    return is_organiser(user, comment.round.consultation)


@rules.predicate
def is_other_delegation_of_comment(user, comment) -> bool:
    """A delegate or focal point who comments in the round, for another organisation than the comment's.

    The consultation's team (secretariat, consultants) decides on comments; it does not co-sponsor them.
    """
    if not may_comment_in_round(user, comment.round) or is_team_of_round(user, comment.round):
        return False
    participation = participation_for(user, comment.round.consultation)
    return participation is not None and participation.organisation_id != comment.organisation_id


can_add_comment = may_comment_in_round
can_change_comment = is_comment_author
can_reply = may_take_part_in_comment_round
can_endorse = is_focal_point_of_comment_org
can_moderate = is_site_admin | is_secretariat_of_comment
can_flag = may_take_part_in_comment_round
# Settling a thread: whoever wrote the comment, its delegation's focal point, or the organisers.
can_resolve_thread = is_comment_author | is_focal_point_of_comment_org | is_organiser_of_comment
# Co-sponsorship: another delegation states its support for a comment it can see.
can_support = is_other_delegation_of_comment
# The focal point sends a colleague's submitted comment back to them with a note (not their own:
# they can edit or withdraw that themselves).
can_return = is_focal_point_of_comment_org & ~is_comment_author

rules.add_perm("comments.add_comment", can_add_comment)
rules.add_perm("comments.change_comment", can_change_comment)
rules.add_perm("comments.reply", can_reply)
rules.add_perm("comments.endorse_comment", can_endorse)
rules.add_perm("comments.moderate_comment", can_moderate)
rules.add_perm("comments.flag_comment", can_flag)
rules.add_perm("comments.resolve_thread", can_resolve_thread)
rules.add_perm("comments.support_comment", can_support)
rules.add_perm("comments.return_comment", can_return)
# (user, engagement_round): the delegation's own position page and its submission.
rules.add_perm("comments.submit_national_position", is_focal_point_in_round)
# (user, engagement_round): every delegation's position status, read-only.
rules.add_perm("comments.view_positions_overview", is_organiser_of_round)
# (user, engagement_round): the response tracker (who has answered). Sending reminders from it is
# round administration: consultations.manage_rounds.
rules.add_perm("comments.view_response_tracker", is_organiser_of_round)
