"""Draft versions and their section trees: storing, stable keys, immutability once published."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from consultations import selectors, services
from consultations.models import DraftVersion, Section
from consultations.services import SectionDraft
from tests import factories

pytestmark = pytest.mark.django_db


def clause(number, heading, body="", children=None, level=3):
    return SectionDraft(heading=heading, level=level, number=number, body=body, children=children or [])


def _tree(*clauses, chapter_heading="Seamless and inclusive digital infrastructure"):
    """The fixture version's outline (1 > 1.1 > clauses) with the given clauses."""
    return [
        SectionDraft(
            heading="Strategic outcomes",
            level=1,
            number="1",
            children=[SectionDraft(heading=chapter_heading, level=2, number="1.1", children=list(clauses))],
        )
    ]


def _rows(version):
    return list(version.sections.order_by("position").values_list("position", "depth", "kind", "number", "heading"))


def _keys(version) -> dict[str, str]:
    return dict(version.sections.values_list("heading", "key"))


def _snapshot():
    return {
        "versions": list(DraftVersion.objects.order_by("pk").values()),
        "sections": list(Section.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
    }


def _messages(excinfo) -> str:
    return " ".join(excinfo.value.messages)


@pytest.fixture
def draft(version, consultant):
    """Version 0.2 in preparation: an editable copy of the published 0.1."""
    return services.version_copy_for_editing(actor=consultant, source=version, number="0.2")


# --- storing a tree -----------------------------------------------------------------------


def test_version_create_stores_the_tree_in_document_order_with_depth_and_kind(consultation, secretariat):
    sections = [
        SectionDraft(
            heading="Strategic outcomes",
            level=1,
            number="1",
            children=[
                SectionDraft(
                    heading="Digital infrastructure",
                    level=2,
                    number="1.1",
                    children=[clause("1.1.1", "5G networks", "Extend 5G."), clause("1.1.2", "Data centres")],
                ),
                SectionDraft(heading="Digital trade", level=2, number="1.2"),
            ],
        ),
        SectionDraft(heading="Enablers", level=1, number="2"),
    ]

    version = services.version_create(actor=secretariat, consultation=consultation, number="0.1", sections=sections)

    assert version.status == DraftVersion.Status.DRAFT
    assert _rows(version) == [
        (1, 0, "component", "1", "Strategic outcomes"),
        (2, 1, "chapter", "1.1", "Digital infrastructure"),
        (3, 2, "clause", "1.1.1", "5G networks"),
        (4, 2, "clause", "1.1.2", "Data centres"),
        (5, 1, "chapter", "1.2", "Digital trade"),
        (6, 0, "component", "2", "Enablers"),
    ]
    by_heading = {s.heading: s for s in version.sections.all()}
    assert by_heading["5G networks"].parent == by_heading["Digital infrastructure"]
    assert by_heading["Digital trade"].parent == by_heading["Strategic outcomes"]
    assert by_heading["Enablers"].parent is None
    assert by_heading["5G networks"].body == "Extend 5G."
    assert AuditEntry.objects.filter(action="version.created", target_id=str(version.pk)).count() == 1


def test_version_create_without_sections_is_refused(consultation, secretariat):
    before = _snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.version_create(actor=secretariat, consultation=consultation, number="0.1", sections=[])

    assert "no sections" in _messages(excinfo)
    assert _snapshot() == before


@pytest.mark.parametrize("persona", ["vn_delegate", "vn_focal_point", "partner", "outsider"])
def test_only_secretariat_consultants_and_admins_create_versions(personas, consultation, persona):
    before = _snapshot()

    with pytest.raises(PermissionDenied):
        services.version_create(
            actor=personas[persona], consultation=consultation, number="0.1", sections=[clause("1", "Outcomes")]
        )

    assert _snapshot() == before


# --- stable keys --------------------------------------------------------------------------


def test_keys_carry_over_when_number_and_heading_are_unchanged(version, consultant):
    new = services.version_create(
        actor=consultant,
        consultation=version.consultation,
        number="0.2",
        sections=_tree(clause("1.1.1", "5G and 6G networks"), clause("1.1.2", "Data centres")),
    )

    assert _keys(new) == _keys(version)


def test_keys_carry_over_when_sections_are_renumbered_or_retitled(version, consultant):
    new = services.version_create(
        actor=consultant,
        consultation=version.consultation,
        number="0.2",
        sections=_tree(
            clause("1.1.2", "Data centres"),  # moved up: same heading, new number
            clause("1.1.3", "5G and 6G networks"),  # moved down: same heading, new number
            chapter_heading="Seamless, secure and inclusive digital infrastructure",  # same number, new heading
        ),
    )

    keys = _keys(new)
    assert keys["Data centres"] == "infra-dc"
    assert keys["5G and 6G networks"] == "infra-5g"
    assert keys["Seamless, secure and inclusive digital infrastructure"] == "infra"
    assert keys["Strategic outcomes"] == "outcomes"


def test_new_sections_get_fresh_keys(version, consultant):
    new = services.version_create(
        actor=consultant,
        consultation=version.consultation,
        number="0.2",
        sections=_tree(
            clause("1.1.1", "5G and 6G networks"), clause("1.1.2", "Data centres"), clause("1.1.3", "Submarine cables")
        ),
    )

    keys = _keys(new)
    assert keys["Submarine cables"] not in set(_keys(version).values())
    assert len(set(keys.values())) == len(keys)


def test_inserting_a_clause_before_others_keeps_the_keys_of_the_renumbered_ones(version, consultant):
    """A new 1.1.1 pushes "5G and 6G networks" to 1.1.2 and "Data centres" to 1.1.3.

    The moved clauses are still the same sections (same headings), so their comments must follow
    them; the inserted clause is new. A weak number-only match for the new clause must not take
    a key that a stronger heading match in a later clause needs.
    """
    new = services.version_create(
        actor=consultant,
        consultation=version.consultation,
        number="0.2",
        sections=_tree(
            clause("1.1.1", "Submarine cables"),
            clause("1.1.2", "5G and 6G networks"),
            clause("1.1.3", "Data centres"),
        ),
    )

    keys = _keys(new)
    assert keys["5G and 6G networks"] == "infra-5g"
    assert keys["Data centres"] == "infra-dc"
    assert keys["Submarine cables"] not in {"infra-5g", "infra-dc", "infra", "outcomes"}


# --- version numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(("number", "fragment"), [("0.1", "already exists"), ("0.0", "numbered after 0.1")])
def test_version_number_must_be_new_and_after_the_published_one(version, consultant, number, fragment):
    before = _snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.version_create(
            actor=consultant, consultation=version.consultation, number=number, sections=_tree(clause("1.1.1", "X"))
        )

    assert fragment in _messages(excinfo)
    assert _snapshot() == before


@pytest.mark.parametrize("number", ["1", "v0.2", "0.2.1", "zero.two", ""])
def test_malformed_version_number_is_refused(version, consultant, number):
    before = _snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.version_create(
            actor=consultant, consultation=version.consultation, number=number, sections=_tree(clause("1.1.1", "X"))
        )

    assert "looks like 0.1" in _messages(excinfo)
    assert _snapshot() == before


def test_later_version_numbers_are_accepted_and_linked_to_the_previous_published(version, consultant):
    new = services.version_create(
        actor=consultant, consultation=version.consultation, number="1.0", sections=_tree(clause("1.1.1", "X"))
    )

    assert (new.major, new.minor) == (1, 0)
    assert new.previous == version


# --- published versions are immutable -----------------------------------------------------


def test_published_version_sections_cannot_be_updated_added_or_deleted(version, consultant):
    section = version.sections.get(key="infra-5g")
    parent = version.sections.get(key="infra")
    before = _snapshot()

    attempts = [
        lambda: services.section_update(actor=consultant, section=section, heading="5G", body="Changed."),
        lambda: services.section_add(actor=consultant, version=version, parent=parent, heading="Submarine cables"),
        lambda: services.section_delete(actor=consultant, section=section),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as excinfo:
            attempt()
        assert "published and can no longer change" in _messages(excinfo)

    assert _snapshot() == before


def test_draft_version_sections_can_be_updated_and_deleted(draft, consultant):
    section = draft.sections.get(key="infra-5g")

    services.section_update(actor=consultant, section=section, heading="5G networks", body="New text.", number="1.1.1")
    section.refresh_from_db()
    assert (section.heading, section.body) == ("5G networks", "New text.")

    services.section_delete(actor=consultant, section=draft.sections.get(key="infra-dc"))
    assert not draft.sections.filter(key="infra-dc").exists()


@pytest.mark.parametrize("persona", ["vn_delegate", "partner"])
def test_delegates_and_partners_cannot_edit_a_draft(personas, draft, persona):
    before = _snapshot()

    with pytest.raises(PermissionDenied):
        services.section_update(
            actor=personas[persona], section=draft.sections.get(key="infra-5g"), heading="X", body="Y"
        )

    assert _snapshot() == before


# --- adding sections ----------------------------------------------------------------------


def _outline(version) -> list[tuple[int, str]]:
    return [(s.depth, s.heading) for s in version.sections.order_by("position")]


def _tree_order(version) -> list[str]:
    order = []

    def walk(nodes):
        for node in nodes:
            order.append(node.section.heading)
            walk(node.children)

    walk(services.section_tree(list(version.sections.all())))
    return order


def test_section_add_inserts_after_the_parents_last_descendant(draft, consultant):
    outcomes = draft.sections.get(key="outcomes")
    infra = draft.sections.get(key="infra")

    services.section_add(actor=consultant, version=draft, parent=None, heading="Enablers", number="2")
    services.section_add(actor=consultant, version=draft, parent=outcomes, heading="Digital trade", number="1.2")
    services.section_add(actor=consultant, version=draft, parent=infra, heading="Submarine cables", number="1.1.3")

    assert _outline(draft) == [
        (0, "Strategic outcomes"),
        (1, "Seamless and inclusive digital infrastructure"),
        (2, "5G and 6G networks"),
        (2, "Data centres"),
        (2, "Submarine cables"),
        (1, "Digital trade"),
        (0, "Enablers"),
    ]
    positions = list(draft.sections.order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, 8))
    # Position order and tree order agree: the document reads the same both ways.
    assert _tree_order(draft) == [heading for _depth, heading in _outline(draft)]
    added = draft.sections.get(heading="Submarine cables")
    assert (added.kind, added.parent_id) == (Section.Kind.CLAUSE, infra.pk)
    assert added.key not in {"outcomes", "infra", "infra-5g", "infra-dc"}


def test_section_add_refuses_a_parent_from_another_version(draft, version, consultant):
    before = _snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.section_add(
            actor=consultant, version=draft, parent=version.sections.get(key="infra"), heading="Submarine cables"
        )

    assert "another version" in _messages(excinfo)
    assert _snapshot() == before


# --- copying for editing ------------------------------------------------------------------


def test_version_copy_for_editing_copies_the_tree_with_the_same_keys(version, draft):
    assert draft.status == DraftVersion.Status.DRAFT
    assert draft.previous == version

    def shape(v):
        key_of = dict(v.sections.values_list("pk", "key"))
        return [
            (s.key, s.position, s.depth, s.kind, s.number, s.heading, s.body, key_of.get(s.parent_id))
            for s in v.sections.order_by("position")
        ]

    assert shape(draft) == shape(version)
    assert set(draft.sections.values_list("pk", flat=True)).isdisjoint(version.sections.values_list("pk", flat=True))


def test_version_copy_keeps_keys_of_sections_with_repeated_unnumbered_headings(consultation, consultant):
    """Real drafts repeat headings such as "Background" under every component, unnumbered."""
    source = factories.DraftVersionFactory(consultation=consultation, number="0.1")
    for position, (key, heading, depth, parent_key) in enumerate(
        [
            ("c1", "Digital infrastructure", 0, None),
            ("c1-bg", "Background", 1, "c1"),
            ("c2", "Digital trade", 0, None),
            ("c2-bg", "Background", 1, "c2"),
        ],
        start=1,
    ):
        factories.SectionFactory(
            version=source,
            key=key,
            heading=heading,
            number="",
            depth=depth,
            position=position,
            parent=source.sections.get(key=parent_key) if parent_key else None,
        )

    copy = services.version_copy_for_editing(actor=consultant, source=source, number="0.2")

    assert list(copy.sections.order_by("position").values_list("key", flat=True)) == ["c1", "c1-bg", "c2", "c2-bg"]


def test_version_copy_of_an_older_version_keeps_that_versions_keys(version, consultant):
    """Copying 0.1 after 0.2 was published must still carry 0.1's keys, section by section."""
    v02 = services.version_create(
        actor=consultant,
        consultation=version.consultation,
        number="0.2",
        sections=[SectionDraft(heading="A completely rewritten outline", level=1, number="1")],
    )
    services.version_publish(actor=consultant, version=v02)

    copy = services.version_copy_for_editing(actor=consultant, source=version, number="0.3")

    assert _keys(copy) == _keys(version)


# --- line numbers -------------------------------------------------------------------------


def test_publishing_fixes_the_line_numbers_and_a_later_line_length_leaves_them(draft, consultant, settings):
    settings.LINE_LENGTH = 40
    services.version_publish(actor=consultant, version=draft)
    draft.refresh_from_db()
    sections = list(draft.sections.order_by("position"))
    assert draft.line_length == 40
    # Continuous through the document: each section starts on the line after the one before ends.
    assert sections[0].first_line == 1
    for before, after in zip(sections, sections[1:], strict=False):
        assert after.first_line == before.first_line + before.line_count
    clause = draft.sections.get(key="infra-5g")
    published = selectors.lines_of_section(version=draft, section=clause)

    settings.LINE_LENGTH = 120  # the setting changes afterwards: what people cite does not move
    assert selectors.lines_of_version(version=draft).sections[clause.pk] == published
    assert selectors.lines_of_versions(version_ids=[draft.pk])[draft.pk].line_length == 40
    # A version in preparation follows the setting until it is published.
    later = services.version_copy_for_editing(actor=consultant, source=draft, number="0.3")
    assert later.line_length is None
    assert selectors.lines_of_version(version=later).line_length == 120


def test_a_version_keeps_the_line_breaking_rules_it_was_published_with(draft, consultant, monkeypatch):
    """Thai is broken between words in versions published now; one published before keeps its cuts."""
    from consultations import line_numbers
    from consultations.models import Section

    thai = "ประเทศสมาชิกจะพัฒนาโครงสร้างพื้นฐานดิจิทัลที่ไร้รอยต่อและครอบคลุมรวมถึงเครือข่ายห้าจีสายเคเบิลใต้น้ำ" * 3
    Section.objects.filter(version=draft, key="infra-5g").update(body=thai)
    monkeypatch.setattr(line_numbers, "CURRENT_RULES", line_numbers.LEGACY_RULES)  # published under rules 1
    services.version_publish(actor=consultant, version=draft)
    draft.refresh_from_db()
    assert draft.line_rules == line_numbers.LEGACY_RULES
    clause = draft.sections.get(key="infra-5g")
    published = selectors.lines_of_section(version=draft, section=clause)
    assert published.line_count == clause.line_count

    monkeypatch.setattr(line_numbers, "CURRENT_RULES", line_numbers.WORD_RULES)  # the rules move on
    assert selectors.lines_of_version(version=draft).sections[clause.pk] == published
    assert selectors.lines_of_versions(version_ids=[draft.pk])[draft.pk].sections[clause.pk] == published
    later = services.version_copy_for_editing(actor=consultant, source=draft, number="0.3")
    assert later.line_rules is None
    moved = selectors.lines_of_version(version=later).sections[later.sections.get(key="infra-5g").pk]
    assert moved.body_lines != published.body_lines  # the next version breaks between words


def test_line_numbers_of_several_versions_cost_two_queries(version, draft, django_assert_num_queries):
    with django_assert_num_queries(2):
        lines = selectors.lines_of_versions(version_ids=[version.pk, draft.pk, version.pk])
    assert set(lines) == {version.pk, draft.pk}
    clause = version.sections.get(key="infra-5g")
    assert lines[version.pk].range_for(section_id=clause.pk, start=0, end=2).first == (
        lines[version.pk].sections[clause.pk].first_body_line
    )
