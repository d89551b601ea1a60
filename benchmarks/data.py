"""The benchmark's data: a dedicated database, filled fast.

The scaffolding (organisations, people, consultations, versions, sections, rounds) goes in
through the ORM, a few hundred rows. The comments go in with PostgreSQL COPY (psycopg 3's
`cursor.copy`), not row by row: a million rows take about a minute.

Texts are realistic enough for grouping and search: a few thousand distinct sentences built
from a fixed vocabulary, recombined into bodies of one to four sentences; a share of the
comments are near-duplicates of another comment (a word changed or dropped) and a share are
campaign texts pasted on many sections.

Three consultations:
* "bench-main": SIZE comments over SECTIONS sections from ORGANISATIONS organisations, in an open
  round. Section "hot" holds HOT comments (10,000 at full size), section "quiet" holds 10.
* "bench-ref": the same shape with REF_SIZE comments (10,000 at full size), the reference of line 5.
* "bench-carry": CARRY open comments (10,000 at full size) quoting passages of version 0.1,
  and version 0.2 with the same sections, some edited: line 9 carries them over.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

SECTIONS = 200
ORGANISATIONS = 40
SEED = 20261129

SUBJECTS = [
    "The draft",
    "This clause",
    "The action plan",
    "The target",
    "The indicator",
    "The secretariat",
    "Member states",
    "The working group",
    "The regional fund",
    "The roadmap",
    "The timeline",
    "The baseline",
    "The framework",
    "The proposed measure",
    "The annex",
    "The glossary",
    "Development partners",
    "The monitoring body",
    "National regulators",
    "The private sector",
]
VERBS = [
    "should clarify",
    "must reflect",
    "needs to include",
    "could strengthen",
    "does not address",
    "should align with",
    "ought to reference",
    "would benefit from",
    "overlooks",
    "should prioritise",
    "must not weaken",
    "should reconsider",
    "needs evidence on",
    "should measure",
    "fails to define",
]
OBJECTS = [
    "rural broadband coverage",
    "spectrum allocation",
    "cross-border data flows",
    "digital payments",
    "cybersecurity capacity",
    "open government data",
    "digital skills for women",
    "e-commerce trust",
    "submarine cable resilience",
    "the 2030 targets",
    "interoperable digital identity",
    "small business adoption",
    "affordable devices",
    "data protection rules",
    "public service delivery",
    "emergency telecommunications",
    "local content",
    "artificial intelligence governance",
    "universal service funds",
    "green data centres",
]
QUALIFIERS = [
    "in the least developed member states",
    "before the mid-term review",
    "with measurable milestones",
    "as agreed at the last ministerial meeting",
    "in line with international standards",
    "without adding reporting burden",
    "for island and landlocked states",
    "by 2027",
    "through regional cooperation",
    "with dedicated funding",
    "",
    "",
    "",
]
CAMPAIGNS = 20


def sentences(rng: random.Random, count: int = 3000) -> list[str]:
    """`count` distinct sentences from the vocabulary."""
    found: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        sentence = " ".join(
            part
            for part in (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(QUALIFIERS))
            if part
        )
        sentence = sentence + "."
        if sentence not in found:
            found.add(sentence)
            out.append(sentence)
    return out


def near_duplicate(rng: random.Random, text: str) -> str:
    """The same text with one word dropped or changed: what a delegation's edit of a shared draft looks like."""
    words = text.split()
    i = rng.randrange(len(words))
    if rng.random() < 0.5 and len(words) > 4:
        del words[i]
    else:
        words[i] = rng.choice(["also", "clearly", "further", "urgently", "fully"])
    return " ".join(words)


@dataclass
class Scenario:
    size: int
    sections: int = SECTIONS
    organisations: int = ORGANISATIONS

    @property
    def hot(self) -> int:
        return min(10_000, self.size // 4)

    @property
    def quiet(self) -> int:
        return min(10, self.size // 20)

    @property
    def ref_size(self) -> int:
        return min(10_000, self.size // 2)

    @property
    def carry(self) -> int:
        return min(10_000, self.size // 2)


@dataclass
class Built:
    """What the lines need: ids and slugs of what was generated, and the counts actually written."""

    scenario: Scenario
    secretariat_id: int = 0
    commenter_ids: list[int] = field(default_factory=list)
    main_slug: str = "bench-main"
    main_round_id: int = 0
    main_version: str = "1.0"
    ref_slug: str = "bench-ref"
    ref_round_id: int = 0
    carry_version_id: int = 0
    hot_key: str = "hot"
    quiet_key: str = "quiet"
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# --- the database -----------------------------------------------------------------------------


def _admin_conninfo() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname="postgres",
        host=db.get("HOST") or "127.0.0.1",
        port=str(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
    )


def _check_name(name: str) -> None:
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to drop or create {name!r}: the benchmark database's name starts with 'bench'")


def recreate_database() -> str:
    """Drop and create the benchmark database, then migrate it. Returns its name."""
    name = settings.DATABASES["default"]["NAME"]
    _check_name(name)
    connection.close()
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0, interactive=False)
    return name


def drop_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    _check_name(name)
    connection.close()
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the rows ----------------------------------------------------------------------------------


def _comment_columns() -> tuple[str, list[tuple[str, object]]]:
    """The comment table and, for every column but the id, (column, default) from the model."""
    from comments.models import Comment

    now = timezone.now()
    columns = []
    for f in Comment._meta.concrete_fields:
        if f.primary_key:
            continue
        default: object = f.get_default() if f.has_default() else (None if f.null else "")
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        columns.append((f.column, default))
    return Comment._meta.db_table, columns


def copy_comments(rows: list[dict]) -> int:
    """Write comment rows (dicts keyed by column name; the others take the model's defaults) with COPY."""
    table, columns = _comment_columns()
    names = [c for c, _d in columns]
    defaults = [d for _c, d in columns]
    # Through Django's cursor: committed by itself in autocommit (the bench), part of the caller's
    # transaction inside atomic() (a test's, rolled back after it).
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(n, d) for n, d in zip(names, defaults, strict=True)])
    return len(rows)


def copy_supports(round_id: int, organisation_ids: list[int], rng: random.Random, share: float = 0.1) -> int:
    """Other delegations' support (issue 12) for `share` of a round's comments, one to three each, by COPY.

    The exports (a "Supported by" cell per row) and the counts (supports joined in their GROUP BY)
    then do that work at the benchmark's size.
    """
    from comments.models import Comment, CommentSupport

    rows = []
    comments = (
        Comment.objects.filter(round_id=round_id).values_list("id", "organisation_id").iterator(chunk_size=10_000)
    )
    for comment_id, organisation_id in comments:
        if rng.random() >= share:
            continue
        others = [o for o in organisation_ids if o != organisation_id]
        for supporter in rng.sample(others, min(len(others), rng.randint(1, 3))):
            rows.append((comment_id, supporter))
    now = timezone.now()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {CommentSupport._meta.db_table} (comment_id, organisation_id, created_at) FROM STDIN"
        ) as copy:
            for comment_id, supporter in rows:
                copy.write_row([comment_id, supporter, now])
    return len(rows)


def _bodies(rng: random.Random, pool: list[str], campaigns: list[str], count: int) -> list[str]:
    """`count` comment bodies: mostly recombined sentences, 6% near-duplicates, 4% campaign texts."""
    out: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.04:
            out.append(rng.choice(campaigns))
        elif roll < 0.10 and out:
            out.append(near_duplicate(rng, out[rng.randrange(max(0, len(out) - 200), len(out))]))
        else:
            out.append(" ".join(rng.sample(pool, rng.randint(1, 4))))
    return out


def _section_body(rng: random.Random, pool: list[str]) -> str:
    return " ".join(rng.sample(pool, 8))


def build(scenario: Scenario) -> Built:
    """Generate everything in the (empty, migrated) benchmark database."""
    import time

    from accounts.models import Organisation, User
    from consultations.models import Consultation, DraftVersion, EngagementRound, Participation, Section

    began = time.perf_counter()
    rng = random.Random(SEED)
    pool = sentences(rng)
    campaigns = [" ".join(rng.sample(pool, 3)) + " We ask the secretariat to act." for _ in range(CAMPAIGNS)]
    built = Built(scenario=scenario)
    now = timezone.now()

    secretariat_org = Organisation.objects.create(name="Bench secretariat", kind="secretariat", country_code="")
    orgs = Organisation.objects.bulk_create(
        [
            Organisation(
                name=f"Bench organisation {i:02d}",
                kind="member_state" if i % 4 else "partner",
                country_code=f"{chr(65 + i // 26)}{chr(65 + i % 26)}" if i % 4 else "",
            )
            for i in range(scenario.organisations)
        ]
    )
    secretariat = User.objects.create_user(email="secretariat@bench.example.org", password="bench-password")
    secretariat.full_name = "Bench secretariat"
    secretariat.organisation = secretariat_org
    secretariat.save()
    built.secretariat_id = secretariat.pk
    users = []
    for i in range(scenario.organisations * 2):
        user = User(email=f"delegate{i}@bench.example.org", full_name=f"Delegate {i}", organisation=orgs[i % len(orgs)])
        user.set_password("bench-password")
        users.append(user)
    users = User.objects.bulk_create(users)
    built.commenter_ids = [u.pk for u in users]

    def consultation_with(slug: str, number: str, sections: int, keys: list[str]) -> tuple:
        consultation = Consultation.objects.create(title=f"Benchmark {slug}", slug=slug, created_by=secretariat)
        major, minor = (int(x) for x in number.split("."))
        version = DraftVersion.objects.create(
            consultation=consultation,
            number=number,
            major=major,
            minor=minor,
            status=DraftVersion.Status.PUBLISHED,
            published_at=now,
        )
        section_rows = Section.objects.bulk_create(
            [
                Section(
                    version=version,
                    key=keys[i],
                    kind=Section.Kind.CLAUSE,
                    number=f"{i // 10 + 1}.{i % 10 + 1}",
                    heading=f"Clause {i + 1}: {pool[i % len(pool)][:60]}",
                    body=_section_body(rng, pool),
                    position=i + 1,
                )
                for i in range(sections)
            ]
        )
        Participation.objects.create(
            consultation=consultation, user=secretariat, organisation=secretariat_org, role="secretariat"
        )
        Participation.objects.bulk_create(
            [
                Participation(consultation=consultation, user=u, organisation=u.organisation, role=u.organisation.kind)
                for u in users
            ]
        )
        return consultation, version, section_rows

    def round_of(consultation, version, *, closed: bool) -> EngagementRound:
        opens = now - timedelta(days=20 if closed else 1)
        closes = now - timedelta(hours=1) if closed else now + timedelta(days=30)
        return EngagementRound.objects.create(
            consultation=consultation,
            version=version,
            title="Benchmark round",
            opens_at=opens,
            closes_at=closes,
            final_closes_at=closes,
            commenting_roles=["member_state", "partner"],
            visibility=EngagementRound.Visibility.SECRETARIAT_ONLY,
            state=EngagementRound.State.CLOSED if closed else EngagementRound.State.OPEN,
            closed_at=closes if closed else None,
            opened_at=opens,
            created_by=secretariat,
        )

    def comment_rows(round_id: int, section_ids: list[int], count: int) -> list[dict]:
        bodies = _bodies(rng, pool, campaigns, count)
        rows = []
        for i, body in enumerate(bodies):
            author = users[rng.randrange(len(users))]
            created = now - timedelta(seconds=count - i)
            rows.append(
                {
                    "round_id": round_id,
                    "section_id": section_ids[i],
                    "author_id": author.pk,
                    "organisation_id": author.organisation_id,
                    "type": rng.choice(("ge", "te", "te", "ed")),
                    "body": body,
                    "language": "en",
                    "status": "submitted",
                    "is_endorsed": rng.random() < 0.2,
                    "created_at": created,
                    "updated_at": created,
                    "submitted_at": created,
                }
            )
        return rows

    def spread(section_rows, count: int, *, hot: int = 0, quiet: int = 0) -> list[int]:
        """Section ids for `count` comments: `hot` on the first, `quiet` on the second, the rest spread."""
        rest = section_rows[2:] if (hot or quiet) else section_rows
        ids = [section_rows[0].pk] * hot + [section_rows[1].pk] * quiet
        ids += [rest[rng.randrange(len(rest))].pk for _ in range(count - hot - quiet)]
        return ids

    # bench-main
    keys = ["hot", "quiet", *(f"s{i:03d}" for i in range(2, scenario.sections))]
    consultation, version, section_rows = consultation_with("bench-main", "1.0", scenario.sections, keys)
    main_round = round_of(consultation, version, closed=False)
    built.main_round_id = main_round.pk
    ids = spread(section_rows, scenario.size, hot=scenario.hot, quiet=scenario.quiet)
    built.counts["main"] = copy_comments(comment_rows(main_round.pk, ids, scenario.size))
    # A generator of its own: the data after it is the same as before supports existed.
    built.counts["main_supports"] = copy_supports(
        main_round.pk, sorted({u.organisation_id for u in users}), random.Random(scenario.size)
    )
    built.counts["hot"] = scenario.hot
    built.counts["quiet"] = scenario.quiet

    # bench-ref: same shape, REF_SIZE comments, spread evenly
    keys = [f"s{i:03d}" for i in range(scenario.sections)]
    consultation, version, section_rows = consultation_with("bench-ref", "1.0", scenario.sections, keys)
    ref_round = round_of(consultation, version, closed=False)
    built.ref_round_id = ref_round.pk
    built.counts["ref"] = copy_comments(
        comment_rows(ref_round.pk, spread(section_rows, scenario.ref_size), scenario.ref_size)
    )

    # bench-carry: version 0.1 with a closed round of anchored comments, then version 0.2
    carry_sections = max(10, scenario.sections // 4)
    keys = [f"c{i:03d}" for i in range(carry_sections)]
    consultation, version, section_rows = consultation_with("bench-carry", "0.1", carry_sections, keys)
    carry_round = round_of(consultation, version, closed=True)
    rows = comment_rows(carry_round.pk, spread(section_rows, scenario.carry), scenario.carry)
    by_id = {s.pk: s for s in section_rows}
    for row in rows:
        body = by_id[row["section_id"]].body
        if rng.random() < 0.15:
            continue  # a whole-section comment
        at = rng.randrange(0, len(body) - 60)
        length = rng.randint(20, 50)
        row["quote_exact"] = body[at : at + length]
        row["quote_prefix"] = body[max(0, at - 32) : at]
        row["quote_suffix"] = body[at + length : at + length + 32]
        row["position_start"], row["position_end"] = at, at + length
    built.counts["carry"] = copy_comments(rows)
    next_version = DraftVersion.objects.create(
        consultation=consultation,
        number="0.2",
        major=0,
        minor=2,
        status=DraftVersion.Status.PUBLISHED,
        published_at=now,
        previous=version,
    )
    new_sections = []
    for s in section_rows:
        text = s.body
        roll = rng.random()
        if roll < 0.2:  # an edited passage: some quotes land fuzzily
            text = near_duplicate(rng, text)
        elif roll < 0.25:  # rewritten: its quotes are moved elsewhere or orphaned
            text = _section_body(rng, pool)
        new_sections.append(
            Section(
                version=next_version,
                key=s.key,
                kind=s.kind,
                number=s.number,
                heading=s.heading,
                body=text,
                position=s.position,
            )
        )
    Section.objects.bulk_create(new_sections)
    built.carry_version_id = next_version.pk

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    built.seconds = time.perf_counter() - began
    return built
