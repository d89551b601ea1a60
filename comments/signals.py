"""What the comments app tells the apps above it, and lets them add to its pages; they subscribe in AppConfig.ready.

`section_page_panels` is sent while a section's reading page is built, with `request`,
`consultation` and `section`. A receiver returns a rendered HTML fragment (or "" to add nothing), shown below the
section's text in the order the receivers answered. Consolidation shows there the open comments
of earlier versions that landed on the section. comments imports none of those apps.
"""

from django.dispatch import Signal

section_page_panels = Signal()

# Someone replied in a comment's thread; sent inside the transaction that saved the reply, so a
# receiver's rows commit with it. Arguments: reply (its comment loaded).
reply_created = Signal()

# The focal point sent a submitted comment back to its author as a draft, with a note; sent inside
# the transaction of the return. Arguments: comment_return (a CommentReturn, its comment loaded).
comment_returned = Signal()


def panels_for_section(*, request, consultation, section) -> list[str]:
    answers = section_page_panels.send(
        sender=section.__class__, request=request, consultation=consultation, section=section
    )
    return [html for _receiver, html in answers if html]


# A comment or reply names people (@handle) who may see its thread; sent inside the transaction
# that saved it. Arguments: actor, comment (its round loaded), reply (or None), people (users).
# A person named again in a later edit is sent again: receivers make that idempotent.
people_mentioned = Signal()
