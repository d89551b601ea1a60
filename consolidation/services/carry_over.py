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
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import islice

import numpy
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz, process

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
# Comments fetched and landed this many at a time: memory stays flat.
BATCH_SIZE = 2000
# Comments written by one COPY: a block is read first (its rows held in memory, a few MB), then
# landed BATCH_SIZE at a time into an open COPY, so PostgreSQL stores one batch while Python lands
# the next. The connection runs nothing else while COPY is open: the next block is read after it.
BLOCK_SIZE = 20_000
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


# What is written for a comment: (comment id, section id, method, start, end, quote, score).
Anchor = tuple[int, int | None, str, int | None, int | None, str, float]


@dataclass(frozen=True)
class Landing:
    method: str
    section: Section | None
    start: int | None = None
    end: int | None = None
    quote: str = ""
    score: float = 100.0

    def anchor(self, comment_id: int) -> Anchor:
        section_id = self.section.pk if self.section is not None else None
        return (comment_id, section_id, self.method, self.start, self.end, self.quote, self.score)


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


def _followed(rows: Iterator[tuple], previous: Iterator[tuple[int, str]]) -> Iterator[tuple]:
    """Each comment row with the quote it landed on in the previous version ("" if none or orphaned).

    Both streams are in comment id order: a merge, with one row of each in memory.
    """
    landed = next(previous, None)
    for row in rows:
        while landed is not None and landed[0] < row[0]:
            landed = next(previous, None)
        yield (*row, landed[1] if landed is not None and landed[0] == row[0] else "")


def _sections_of(*, versions) -> dict[int, tuple[str, int]]:
    """(key, position) of each section of the given versions, by id."""
    return {
        pk: (key, position)
        for pk, key, position in Section.objects.filter(version_id__in=versions).values_list("id", "key", "position")
    }


def _with_homes(rows: Iterable[tuple], homes: dict[int, tuple[str, int]]) -> Iterator[tuple]:
    """(id, section id, exact, prefix, suffix, author) rows as (id, key, position, exact, prefix, suffix, author)."""
    for comment_id, section_id, exact, prefix, suffix, author_id in rows:
        home = homes.get(section_id)
        if home is None:  # a section of another version than its round's: not made by the services, still carried
            home = homes[section_id] = Section.objects.values_list("key", "position").get(pk=section_id)
        yield comment_id, home[0], home[1], exact, prefix, suffix, author_id


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class _Pending:
    """An anchored comment not found unchanged in its same-key section: searched further, in phases."""

    comment_id: int
    quotes: list[Quote]
    home: Section | None
    home_position: int
    landing: Landing | None = None


class _Search:
    """The new version's sections, and the search of a batch of comments in them.

    For each anchored comment, in this order, each of its quotes in turn (the text it landed
    on in the previous version first, then its own), the first that finds it decides:
    1. exact in the same-key section: str.find, the context weighed only when the passage
       occurs more than once (find_exact);
    2. fuzzy in the same-key section (find_fuzzy);
    3. exact in another section (quotes of MIN_SEARCH_CHARS or more): the best context, then
       the nearest position to the comment's section, then the first in position order; one
       str.find over the sections joined, not one per section;
    4. fuzzy in another section: the best score (to 0.1), then the nearest, then the first;
       the scores of a whole batch against every section come from one rapidfuzz cdist call,
       and only the winning section's range is aligned and tightened to whole words.
    Most comments are settled by step 1, which costs two str.find calls.
    """

    SEPARATOR = "\x00"

    def __init__(self, sections: list[Section], threshold: float):
        self.sections = sections
        self.by_key = {s.key: s for s in sections}
        self.threshold = threshold
        self.bodies = [s.body for s in sections]
        self.joined = self.SEPARATOR.join(self.bodies)
        self.starts = []
        offset = 0
        for body in self.bodies:
            self.starts.append(offset)
            offset += len(body) + len(self.SEPARATOR)
        self.searchable_bodies = numpy.array([bool(body) for body in self.bodies])

    def land(self, rows: list[tuple]) -> list[Anchor]:
        """Where each row (id, key, position, exact, prefix, suffix, previous landing's quote or "") lands."""
        Method = CarriedAnchor.Method
        by_key = self.by_key
        landed: list[Anchor] = []
        pending: list[tuple[int, _Pending]] = []
        for comment_id, key, position, exact, prefix, suffix, _author_id, followed in rows:
            home = by_key.get(key)
            if not exact:
                if home is None:
                    landed.append((comment_id, None, Method.ORPHANED, None, None, "", 0.0))
                else:
                    landed.append((comment_id, home.id, Method.SECTION, None, None, "", 100.0))
                continue
            if home is not None:
                body = home.body
                quote = followed
                index = body.find(followed) if followed else -1  # no context: its first occurrence
                if index == -1:
                    quote = exact
                    index = body.find(exact)
                    if index != -1 and body.find(exact, index + 1) != -1:
                        found = find_exact(body, Quote(exact, prefix, suffix))
                        index = found[0] if found else -1
                if index != -1:
                    landed.append((comment_id, home.id, Method.EXACT, index, index + len(quote), quote, 100.0))
                    continue
            quotes = [Quote(followed)] if followed else []
            quotes.append(Quote(exact, prefix, suffix))
            pending.append((len(landed), _Pending(comment_id, quotes, home, home.position if home else position)))
            landed.append((comment_id, home.id if home else None, Method.ORPHANED, None, None, "", 0.0))
        if pending:
            self._search_further([item for _index, item in pending])
            for index, item in pending:
                if item.landing is not None:
                    landed[index] = item.landing.anchor(item.comment_id)
        return landed

    def _search_further(self, pending: list[_Pending]) -> None:
        for item in pending:
            if item.home is not None:
                item.landing = self._fuzzy_at_home(item)
            if item.landing is None:
                item.landing = self._exact_elsewhere(item)
        self._fuzzy_elsewhere([item for item in pending if item.landing is None])

    def _fuzzy_at_home(self, item: _Pending) -> Landing | None:
        home = item.home
        assert home is not None
        for quote in item.quotes:
            near = find_fuzzy(home.body, quote, self.threshold)
            if near:
                start, end, score = near
                return Landing(CarriedAnchor.Method.FUZZY, home, start, end, home.body[start:end], score)
        return None

    def _exact_elsewhere(self, item: _Pending) -> Landing | None:
        home_pk = item.home.pk if item.home is not None else None
        for quote in item.quotes:
            if not quote.searchable:
                continue
            hits = []
            for order, section, found in self._occurrences(quote):
                if section.pk != home_pk:
                    hits.append((-found[2], abs(section.position - item.home_position), order, section, found))
            if hits:
                _score, _distance, _order, section, (start, end, _context) = min(hits, key=lambda h: h[:3])
                return Landing(CarriedAnchor.Method.MOVED, section, start, end, section.body[start:end])
        return None

    def _occurrences(self, quote: Quote) -> list[tuple[int, Section, tuple[int, int, int]]]:
        """(order, section, find_exact's result) of each section holding the quote, in position order."""
        if self.SEPARATOR in quote.exact:
            found_in = (
                (order, section, find_exact(section.body, quote)) for order, section in enumerate(self.sections)
            )
            return [(order, section, found) for order, section, found in found_in if found]
        orders = []
        index = self.joined.find(quote.exact)
        while index != -1:
            order = bisect_right(self.starts, index) - 1
            orders.append(order)
            # The next occurrence in another section: find_exact weighs those within this one.
            index = self.joined.find(quote.exact, self.starts[order] + len(self.bodies[order]))
        result = []
        for order in orders:
            found = find_exact(self.bodies[order], quote)
            assert found is not None
            result.append((order, self.sections[order], found))
        return result

    def _fuzzy_elsewhere(self, items: list[_Pending]) -> None:
        """Each item's first searchable quote that scores enough in another section lands there."""
        queries = [(item, quote) for item in items for quote in item.quotes if quote.searchable]
        if not queries:
            return
        scores = process.cdist(
            [quote.exact for _item, quote in queries],
            self.bodies,
            scorer=fuzz.partial_ratio,
            score_cutoff=self.threshold,
            dtype=numpy.float64,
            workers=-1,  # the C++ scorer on every core: the same scores, the GIL released
        )
        scores[:, ~self.searchable_bodies] = -1.0
        for row, (item, quote) in enumerate(queries):
            if item.landing is not None:
                continue  # an earlier quote of the comment landed already
            columns = numpy.flatnonzero(scores[row] >= self.threshold)
            home_pk = item.home.pk if item.home is not None else None
            hits = [
                (-round(float(scores[row, order]), 1), abs(self.sections[order].position - item.home_position), order)
                for order in columns
                if self.sections[order].pk != home_pk
            ]
            if not hits:
                continue
            _score, _distance, order = min(hits)
            section = self.sections[order]
            alignment = fuzz.partial_ratio_alignment(quote.exact, section.body, score_cutoff=self.threshold)
            assert alignment is not None
            start, end = _tighten(section.body, quote.exact, alignment.dest_start, alignment.dest_end)
            item.landing = Landing(
                CarriedAnchor.Method.MOVED, section, start, end, section.body[start:end], round(alignment.score, 1)
            )


# COPY's text format: a backslash, and the characters that would end a field or a row, escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _Writer:
    """Writes a batch of CarriedAnchor rows: PostgreSQL COPY there, a bulk insert elsewhere."""

    ATTNAMES = (
        "comment_id",
        "version_id",
        "section_id",
        "method",
        "position_start",
        "position_end",
        "quote_exact",
        "score",
        "created_at",
    )

    def __init__(self, version: DraftVersion):
        self.version = version
        self.now = timezone.now()
        self.copy = connection.vendor == "postgresql"
        meta = CarriedAnchor._meta
        columns = {f.attname: str(f.column) for f in meta.concrete_fields}
        quote = connection.ops.quote_name
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(meta.db_table), ", ".join(quote(columns[name]) for name in self.ATTNAMES)
        )

    def _row(self, anchor: Anchor) -> tuple:
        comment_id, section_id, method, start, end, quote, score = anchor
        return (comment_id, self.version.pk, section_id, method, start, end, quote, score, self.now)

    @contextmanager
    def writing(self) -> Iterator[Callable[[list[Anchor]], None]]:
        """A function writing anchors: into one COPY kept open until the block ends (PostgreSQL), else bulk inserts."""
        if not self.copy:

            def insert(landed: list[Anchor]) -> None:
                CarriedAnchor.objects.bulk_create(
                    [CarriedAnchor(**dict(zip(self.ATTNAMES, self._row(anchor), strict=True))) for anchor in landed]
                )

            yield insert
            return
        with connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
            # COPY's text format built here, a batch a write: psycopg's write_row adapts value by
            # value (a fifth of the carry-over's time). Only the quote is free text.
            version_id, now = self.version.pk, self.now.isoformat()

            def field(value: int | None) -> str:
                return r"\N" if value is None else str(value)

            def write(landed: list[Anchor]) -> None:
                copy.write(
                    "".join(
                        f"{comment_id}\t{version_id}\t{field(section_id)}\t{method}\t{field(start)}\t{field(end)}"
                        f"\t{quote.translate(_COPY_ESCAPES)}\t{float(score)!r}\t{now}\n"
                        for comment_id, section_id, method, start, end, quote, score in landed
                    )
                )

            yield write


def carry_over_comments(*, version_id: int, attempt: int | None = None) -> dict:
    """Re-anchor every open comment of the earlier rounds on version `version_id`.

    Idempotent: the CarriedAnchor of each carried comment for this version is replaced, in
    one transaction, under a lock on the version (two runs for one version wait in turn).
    With `attempt` (the task's claim on the CarryOverJob), the job is marked done in that same
    transaction, or everything is rolled back if another attempt took the job over.
    Returns the number of comments per landing method.

    The comments stream from one query, merged with a second stream of where each landed in the
    previous version; they are landed BATCH_SIZE at a time and written by COPY: memory stays
    flat and the number of queries does not grow with the number of comments.
    """
    threshold = min_score()
    with transaction.atomic():
        version = DraftVersion.objects.select_for_update().select_related("consultation").get(pk=version_id)
        if not version.is_published:
            logger.info("carry-over skipped: version %s is not published", version_id)
            return {"skipped": True, "total": 0}
        if connection.vendor == "postgresql":
            # The comments below are read through server-side cursors (memory stays flat), which
            # PostgreSQL plans for the first 10% of their rows by default: it walked the primary key
            # of every comment in the database, filtering by round (0.97 s at a million comments
            # for 10,000 of them, against 17 ms through the round's index). All rows are read.
            # JIT off: the dispositions probed comment by comment (below) make the estimated cost
            # of the read large enough for PostgreSQL to compile it (0.28 s) for 28 ms of work.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
                cursor.execute("SET LOCAL jit = off")
        search = _Search(list(version.sections.order_by("position", "id")), threshold)
        comments = Comment.objects.filter(open_comments_filter(probe=True), round__in=rounds_before(version=version))
        # A rerun replaces the anchors of the comments still open; one of a comment decided since stays.
        rerun = CarriedAnchor.objects.filter(version=version).exists()
        if rerun:
            CarriedAnchor.objects.filter(version=version, comment__in=comments.values("pk")).delete()
        # The comments' sections (of the earlier versions) looked up here, not joined to every comment.
        homes = _sections_of(versions=rounds_before(version=version).values("version_id"))
        rows = comments.order_by("id").values_list(
            "id", "section_id", "quote_exact", "quote_prefix", "quote_suffix", "author_id"
        )
        # Where each landed in the previous version: a second stream in comment order, merged in.
        # Not a join: the planner, told the anchors table is small, may rescan it for every
        # comment while this run is filling it.
        previous = (
            CarriedAnchor.objects.filter(version_id=version.previous_id)
            .exclude(quote_exact="")
            .exclude(method=CarriedAnchor.Method.ORPHANED)
            .order_by("comment_id")
            .values_list("comment_id", "quote_exact")
        )
        merged = _followed(
            _with_homes(rows.iterator(chunk_size=BATCH_SIZE), homes),
            previous.iterator(chunk_size=BATCH_SIZE) if version.previous_id else iter(()),
        )
        writer = _Writer(version)
        began = time.perf_counter()
        counts: Counter[str] = Counter()
        # What each author is told (notifications): counted here on a first run, when these are all the anchors.
        by_author: defaultdict[int, dict[str, int]] = defaultdict(lambda: {"carried": 0, "orphaned": 0})
        orphaned = CarriedAnchor.Method.ORPHANED
        for block in _batches(merged, BLOCK_SIZE):
            with writer.writing() as write:
                for batch in _batches(block, BATCH_SIZE):
                    landed = search.land(batch)
                    counts.update(anchor[2] for anchor in landed)
                    for row, anchor in zip(batch, landed, strict=True):
                        by_author[row[6]]["orphaned" if anchor[2] == orphaned else "carried"] += 1
                    write(landed)
        result = {method: counts.get(method, 0) for method in CarriedAnchor.Method.values}
        result["total"] = sum(counts.values())
        logger.info(
            "carry-over to version %s: %s comments in %.1f s", version_id, result["total"], time.perf_counter() - began
        )
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
        comments_carried_over.send(sender=DraftVersion, version=version, by_author=None if rerun else dict(by_author))
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
