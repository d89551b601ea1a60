"""What consolidation tells the apps above it; they subscribe in their AppConfig.ready.

Both are sent inside the transaction that made the change, so a receiver's rows (a
notification) are committed with it or not at all; a receiver that starts background work
queues it once that transaction commits (config.jobs.enqueue_after_commit).
"""

from django.dispatch import Signal

# The secretariat recorded a decision (not a consultant's proposal) on one or more comments.
# Arguments: dispositions (the saved Disposition rows, their comment loaded), actor.
disposition_decided = Signal()

# Open comments of earlier rounds were carried into a newly published version (each now has a
# CarriedAnchor for it, orphaned or not). Arguments: version (the DraftVersion), and by_author:
# {author id: {"carried": n, "orphaned": n}} over every CarriedAnchor the version holds, counted
# while landing, or None when the run cannot know them all (a rerun keeps the anchors of comments
# decided since): the receiver counts them from the CarriedAnchor rows then.
comments_carried_over = Signal()
