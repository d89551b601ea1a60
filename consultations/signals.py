"""What consultations tells the apps above it; they subscribe in their AppConfig.ready.

consultations imports none of those apps: a consequence of closing a round or publishing a
version that belongs to another app (consolidating the round, carrying comments over) is that
app's receiver.

round_opened, round_closed and version_published are sent inside the transaction that made the
change, so that a receiver's own rows (a queued job, a notification) are committed with it or
not at all; a receiver that starts background work queues it once that transaction commits
(config.jobs.enqueue_after_commit).
"""

from django.dispatch import Signal

# A round opened, by the secretariat or by the clock. Arguments: round_id.
round_opened = Signal()

# A round closed for everyone, by the secretariat or by the clock. Arguments: round_id.
round_closed = Signal()

# A draft version was published. Arguments: version (the locked DraftVersion).
version_published = Signal()

# Asked (not announced) while a page shows rounds: the stage closed rounds have reached since in
# the apps above (e.g. "reported" once consolidated). Arguments: rounds (closed rounds). A
# receiver returns {round id: (stage, label)} for the rounds it knows more of; read-only.
round_stages = Signal()

# Asked while a version's reading page is built, with request, consultation and version: a
# receiver returns a rendered HTML fragment (or "") shown above the text, e.g. consolidation's
# buttons that make the draft as a Word or PDF file with its line numbers.
version_page_panels = Signal()


def panels_for_version(*, request, consultation, version) -> list[str]:
    answers = version_page_panels.send(
        sender=version.__class__, request=request, consultation=consultation, version=version
    )
    return [html for _receiver, html in answers if html]


# Asked while a page lists a version's sections (its contents, its reading page): how many
# comments of `engagement_round` `user` may see on each section. Arguments: user, engagement_round.
# A receiver returns {section id: count} (sections without comments left out); read-only, one
# query whatever the round's size (consolidation answers from its counts).
section_comment_counts = Signal()


def comment_counts_for(*, user, engagement_round) -> dict[int, int]:
    if engagement_round is None:
        return {}
    for _receiver, answer in section_comment_counts.send(
        sender=engagement_round.__class__, user=user, engagement_round=engagement_round
    ):
        if isinstance(answer, dict) and answer:
            return answer
    return {}
