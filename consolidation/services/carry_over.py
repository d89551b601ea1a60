"""Carry open comments over to a newly published version and re-anchor them on its text.

For every open comment (consolidation.selectors_revision.open_comments_filter) of the rounds
held on earlier versions, find where it lands in the new version and store a CarriedAnchor:

* section: a whole-section comment, on the section with the same stable key;
* exact: the quoted passage is still in that section (the occurrence whose prefix and suffix
  match best, as comments.anchoring does);
* fuzzy: an edited form of the passage is in that section (rapidfuzz partial ratio at least
  settings.CARRY_OVER_MIN_SCORE, default 80), the range tightened to whole words;
* moved: the passage is found, exactly or else fuzzily, in another section of the new version;
* orphaned: it is nowhere; kept on the same-key section if that still exists, never dropped.

A comment already carried to the version before this one is searched for with the text it
landed on there first, then with its own quote: a passage edited twice is still followed.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rapidfuzz import fuzz

from audit.services import audit_log
from comments.models import Comment
from config import jobs
from config.jobs import enqueue_after_commit
from consultations.models import DraftVersion, Section

from ..models import CarriedAnchor, CarryOverJob, JobStatus
from ..selectors_revision import open_comments_filter, rounds_before
from ..signals import comments_carried_over

logger = logging.getLogger(__name__)

DEFAULT_MIN_SCORE = 80.0
# Below this many non-space characters a quote is only looked for exactly, in its own section:
# a few letters "match" nearly anywhere, and a false landing is worse than an orphan.
MIN_SEARCH_CHARS = 12
# How far (characters) around the fuzzy alignment the edited passage's words are looked for.
MAX_SLACK = 200
BATCH_SIZE = 500
WORD = re.compile(r"\w+")
# At most this many words are tried at either end of a fuzzy range for quote words that changed.
MAX_EDGE_WORDS = 3


def min_score() -> float:
    return float(getattr(settings, "CARRY_OVER_MIN_SCORE", DEFAULT_MIN_SCORE))


@dataclass(frozen=True)
class Quote:
    exact: str
    prefix: str = ""
    suffix: str = ""

    @property
    def searchable(self) -> bool:
        return len("".join(self.exact.split())) >= MIN_SEARCH_CHARS


@dataclass(frozen=True)
class Landing:
    method: str
    section: Section | None
    start: int | None = None
    end: int | None = None
    quote: str = ""
    score: float = 100.0


def _context_match(text: str, start: int, end: int, quote: Quote) -> int:
    """How many characters of the quote's prefix and suffix surround text[start:end]."""
    before = text[max(0, start - len(quote.prefix)) : start]
    after = text[end : end + len(quote.suffix)]
    return len(os.path.commonprefix([before[::-1], quote.prefix[::-1]])) + len(
        os.path.commonprefix([after, quote.suffix])
    )


def find_exact(text: str, quote: Quote) -> tuple[int, int, int] | None:
    """(start, end, context match) of the occurrence of the quote whose context matches best."""
    if not quote.exact or len(quote.exact) > len(text):
        return None
    best = None
    index = text.find(quote.exact)
    while index != -1:
        end = index + len(quote.exact)
        score = _context_match(text, index, end, quote)
        if best is None or score > best[2]:
            best = (index, end, score)
        index = text.find(quote.exact, index + 1)
    return best


def _widen(blocks: list, main: int, max_gap: int) -> list:
    """The matching blocks around the longest one that are close enough to be the same passage."""
    kept = [blocks[main]]
    for block in reversed(blocks[:main]):
        first = kept[0]
        if (first.b - block.b - block.size) - (first.a - block.a - block.size) > max_gap:
            break
        kept.insert(0, block)
    for block in blocks[main + 1 :]:
        last = kept[-1]
        if (block.b - last.b - last.size) - (block.a - last.a - last.size) > max_gap:
            break
        kept.append(block)
    return kept


def _tighten(text: str, quote: str, start: int, end: int) -> tuple[int, int]:
    """The whole-word range, near an approximate alignment, that is the edited form of the quote.

    partial_ratio aligns a window as long as the quote; after an insertion or a deletion the
    edited passage is longer or shorter. So the quote's words are matched to the text's words
    around the window: the range runs from the first to the last word that survived, widened by
    as many words as the quote has unmatched at either end when that makes it more alike.
    """
    slack = min(max(16, len(quote)), MAX_SLACK)
    lo, hi = max(0, start - slack), min(len(text), end + slack)
    # Whole words only: a word cut at the edge of the region would match wrongly.
    while lo > 0 and text[lo - 1].isalnum():
        lo -= 1
    while hi < len(text) and text[hi].isalnum():
        hi += 1
    words = list(WORD.finditer(text, lo, hi))
    quote_words = [w.lower() for w in WORD.findall(quote)]
    if not words or not quote_words:
        return start, end
    matcher = SequenceMatcher(None, quote_words, [w.group().lower() for w in words], autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return start, end
    main = max(range(len(blocks)), key=lambda i: blocks[i].size)
    kept = _widen(blocks, main, max_gap=max(4, len(quote_words) // 2))
    first_word, last_word = kept[0].b, kept[-1].b + kept[-1].size - 1
    lead = min(kept[0].a, first_word, MAX_EDGE_WORDS)
    trail = min(len(quote_words) - kept[-1].a - kept[-1].size, len(words) - 1 - last_word, MAX_EDGE_WORDS)
    candidates = [
        (words[first_word - x].start(), words[last_word + y].end()) for x in range(lead + 1) for y in range(trail + 1)
    ]
    return max(candidates, key=lambda r: (fuzz.ratio(quote, text[r[0] : r[1]]), -(r[1] - r[0])))


def find_fuzzy(text: str, quote: Quote, threshold: float) -> tuple[int, int, float] | None:
    """(start, end, score) of the passage of `text` most like the quote, if it scores enough."""
    if not text or not quote.searchable:
        return None
    alignment = fuzz.partial_ratio_alignment(quote.exact, text, score_cutoff=threshold)
    if alignment is None:
        return None
    start, end = _tighten(text, quote.exact, alignment.dest_start, alignment.dest_end)
    return start, end, round(alignment.score, 1)


def locate(
    *,
    quotes: list[Quote],
    home: Section | None,
    sections: list[Section],
    threshold: float,
    home_position: int,
) -> Landing:
    """Where an anchored comment lands in the new version (see the module docstring)."""
    if home is not None:
        for quote in quotes:
            found = find_exact(home.body, quote)
            if found:
                return Landing(CarriedAnchor.Method.EXACT, home, found[0], found[1], home.body[found[0] : found[1]])
        for quote in quotes:
            near = find_fuzzy(home.body, quote, threshold)
            if near:
                start, end, score = near
                return Landing(CarriedAnchor.Method.FUZZY, home, start, end, home.body[start:end], score)
    others = [s for s in sections if home is None or s.pk != home.pk]
    searchable = [q for q in quotes if q.searchable]
    for quote in searchable:
        hits = []
        for section in others:
            found = find_exact(section.body, quote)
            if found:
                hits.append((-found[2], abs(section.position - home_position), section, found))
        if hits:
            _score, _distance, section, (start, end, _context) = min(hits, key=lambda h: h[:2])
            return Landing(CarriedAnchor.Method.MOVED, section, start, end, section.body[start:end])
    for quote in searchable:
        fuzzy_hits = []
        for section in others:
            near = find_fuzzy(section.body, quote, threshold)
            if near:
                fuzzy_hits.append((-near[2], abs(section.position - home_position), section, near))
        if fuzzy_hits:
            _similarity, _distance, section, (start, end, score) = min(fuzzy_hits, key=lambda h: h[:2])
            return Landing(CarriedAnchor.Method.MOVED, section, start, end, section.body[start:end], score)
    return Landing(CarriedAnchor.Method.ORPHANED, home, score=0.0)


def _quotes_for(comment: Comment, earlier: CarriedAnchor | None) -> list[Quote]:
    quotes = []
    if earlier is not None and earlier.quote_exact and not earlier.is_orphaned:
        quotes.append(Quote(earlier.quote_exact))
    quotes.append(Quote(comment.quote_exact, comment.quote_prefix, comment.quote_suffix))
    return quotes


def land_comment(
    comment: Comment,
    *,
    sections_by_key: dict[str, Section],
    sections: list[Section],
    earlier: CarriedAnchor | None,
    threshold: float,
) -> Landing:
    home = sections_by_key.get(comment.section.key)
    if not comment.quote_exact:
        if home is None:
            return Landing(CarriedAnchor.Method.ORPHANED, None, score=0.0)
        return Landing(CarriedAnchor.Method.SECTION, home)
    return locate(
        quotes=_quotes_for(comment, earlier),
        home=home,
        sections=sections,
        threshold=threshold,
        home_position=home.position if home else comment.section.position,
    )


def carry_over_comments(*, version_id: int, attempt: int | None = None) -> dict:
    """Re-anchor every open comment of the earlier rounds on version `version_id`.

    Idempotent: the CarriedAnchor of each carried comment for this version is replaced, in
    one transaction, under a lock on the version (two runs for one version wait in turn).
    With `attempt` (the task's claim on the CarryOverJob), the job is marked done in that same
    transaction, or everything is rolled back if another attempt took the job over.
    Returns the number of comments per landing method.
    """
    threshold = min_score()
    with transaction.atomic():
        version = DraftVersion.objects.select_for_update().select_related("consultation").get(pk=version_id)
        if not version.is_published:
            logger.info("carry-over skipped: version %s is not published", version_id)
            return {"skipped": True, "total": 0}
        sections = list(version.sections.order_by("position"))
        sections_by_key = {s.key: s for s in sections}
        comments = (
            Comment.objects.filter(open_comments_filter(), round__in=rounds_before(version=version))
            .select_related("section")
            .order_by("id")
        )
        earlier = {}
        if version.previous_id:
            earlier = {
                a.comment_id: a
                for a in CarriedAnchor.objects.filter(version_id=version.previous_id, comment__in=comments)
            }
        counts: Counter[str] = Counter()
        batch: list[CarriedAnchor] = []

        def flush() -> None:
            CarriedAnchor.objects.filter(version=version, comment_id__in=[a.comment_id for a in batch]).delete()
            CarriedAnchor.objects.bulk_create(batch)
            batch.clear()

        for comment in comments.iterator(chunk_size=BATCH_SIZE):
            landing = land_comment(
                comment,
                sections_by_key=sections_by_key,
                sections=sections,
                earlier=earlier.get(comment.pk),
                threshold=threshold,
            )
            counts[landing.method] += 1
            batch.append(
                CarriedAnchor(
                    comment=comment,
                    version=version,
                    section=landing.section,
                    method=landing.method,
                    position_start=landing.start,
                    position_end=landing.end,
                    quote_exact=landing.quote,
                    score=landing.score,
                )
            )
            if len(batch) >= BATCH_SIZE:
                flush()
        if batch:
            flush()
        result = {method: counts.get(method, 0) for method in CarriedAnchor.Method.values}
        result["total"] = sum(counts.values())
        if attempt is not None and not jobs.held(CarryOverJob, version_id, attempt).update(
            status=JobStatus.DONE, result=result, finished_at=timezone.now(), lease_expires_at=None, error=""
        ):
            transaction.set_rollback(True)  # taken over by a later attempt, which writes its own
            return {"skipped": True, "total": 0}
        audit_log(
            actor=None,
            action="version.comments_carried_over",
            target=version,
            consultation=version.consultation,
            data=result,
        )
        comments_carried_over.send(sender=DraftVersion, version=version)
    return result


def carry_over_execute(*, version_id: int) -> dict:
    """What the task runs: claim the version's CarryOverJob, carry over under its lease, mark it done."""
    if not DraftVersion.objects.filter(pk=version_id).exists():
        return {"skipped": True, "total": 0}
    CarryOverJob.objects.get_or_create(version_id=version_id)  # a message queued before jobs had rows
    attempt = jobs.claim(CarryOverJob, version_id)
    if attempt is None:
        return {"skipped": True, "total": 0}  # done already, or a live worker has it
    with jobs.lease(CarryOverJob, version_id, attempt):
        result = carry_over_comments(version_id=version_id, attempt=attempt)
        if result.get("skipped"):
            jobs.held(CarryOverJob, version_id, attempt).update(
                status=JobStatus.DONE, result=result, finished_at=timezone.now(), lease_expires_at=None
            )
    return result


def carry_over_fail(*, version_id: int, error: str) -> None:
    """Fail an unfinished carry-over (the job sweep gives up on it)."""
    failed = CarryOverJob.objects.filter(pk=version_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), lease_expires_at=None
    )
    if failed:
        job = CarryOverJob.objects.select_related("version__consultation").get(pk=version_id)
        audit_log(
            actor=None,
            action="carry_over.failed",
            target=job.version,
            consultation=job.version.consultation,
            data={"error": error},
        )


def queue_carry_over(version: DraftVersion) -> None:
    """Record the carry-over as a job in the publishing transaction; queue its task once that commits."""
    job, _created = CarryOverJob.objects.get_or_create(version=version)
    enqueue_after_commit("consolidation.tasks.carry_over_version", version.pk, job=job)
