"""Who may consolidate, decide, export and import, as named predicates (django-rules).

Predicates take (user, consultation) and combine the role rules of consultations/rules.py
(`is_organiser` is the site admins, the secretariat and the consultants). Exports are open to
every participant because each export contains only what the requester may see
(comments.selectors.comments_visible_to).
"""

import rules

from consultations.rules import can_view_consultation, is_consultation_team, is_decision_maker, is_organiser

can_run_consolidation = is_decision_maker
can_read_consolidated_feedback = is_organiser
can_propose_disposition = is_organiser
can_record_disposition = is_decision_maker
can_export = can_view_consultation
can_import_template = is_decision_maker
can_read_revision_report = can_view_consultation
# The secretariat shares the feedback out; the team (its own people and the consultants) takes it.
can_assign_comments = is_decision_maker
can_be_assigned = is_consultation_team

rules.add_perm("consolidation.run", can_run_consolidation)
rules.add_perm("consolidation.read_feedback", can_read_consolidated_feedback)
rules.add_perm("consolidation.propose_disposition", can_propose_disposition)
rules.add_perm("consolidation.record_disposition", can_record_disposition)
rules.add_perm("consolidation.export", can_export)
rules.add_perm("consolidation.import_template", can_import_template)
rules.add_perm("consolidation.read_revision_report", can_read_revision_report)
rules.add_perm("consolidation.assign_comments", can_assign_comments)
rules.add_perm("consolidation.be_assigned", can_be_assigned)
