"""Compare the comment counts (CommentCount) with the comments, or rebuild them.

    manage.py comment_counts                 # check every round; exit 1 (CommandError) on drift
    manage.py comment_counts --round 12      # one round (repeatable)
    manage.py comment_counts --rebuild       # recompute (writers wait while it runs)

PostgreSQL triggers keep the counts (consolidation/services/counts.py says what can bypass them).
"""

from django.core.management.base import BaseCommand, CommandError

from consolidation.services import counts


class Command(BaseCommand):
    help = "Check the comment counts of the consolidated feedback against the comments, or rebuild them."

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, action="append", dest="rounds", help="A round's id (repeatable).")
        parser.add_argument("--rebuild", action="store_true", help="Recompute the counts from the comments.")

    def handle(self, *args, rounds=None, rebuild=False, **options):
        if not counts.maintained():
            self.stdout.write("No comment counts on this database (PostgreSQL only): the pages count comments.")
            return
        if rebuild:
            written = counts.rebuild_counts(round_ids=rounds)
            self.stdout.write(f"Rebuilt: {written} cells.")
            return
        drift = counts.count_drift(round_ids=rounds)
        for d in drift[:20]:
            self.stderr.write(
                f"round {d.round_id} section {d.section_id} organisation {d.organisation_id} {d.status} {d.type} "
                f"hidden={d.is_hidden} {d.disposition}: kept {d.kept}, actual {d.actual}"
            )
        if drift:
            rounds_hit = sorted({d.round_id for d in drift})
            raise CommandError(f"{len(drift)} cell(s) differ in rounds {rounds_hit}; run with --rebuild.")
        self.stdout.write("The comment counts match the comments.")
