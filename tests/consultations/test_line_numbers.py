"""Line numbers of a version's text (consultations.line_numbers): stable, document-wide, by what a reader sees."""

import unicodedata
from types import SimpleNamespace

import pytest

from config import line_breaks
from consultations.line_numbers import (
    CURRENT_RULES,
    LEGACY_RULES,
    LineRange,
    char_width,
    number_document,
    number_section,
    paragraphs,
    text_width,
    version_lines,
    wrap,
    wrap_text,
)

PROSE = (
    "Member states will develop seamless and inclusive digital infrastructure, including 5G networks, "
    "submarine cables and data centres, so that every community can take part in the digital economy.\n\n"
    "The secretariat reports each year on progress towards these outcomes."
)
VIETNAMESE = (
    "Các quốc gia thành viên sẽ phát triển hạ tầng số liền mạch và bao trùm, bao gồm mạng 5G, "
    "cáp quang biển và trung tâm dữ liệu, để mọi cộng đồng đều tham gia nền kinh tế số."
)
THAI = (
    "ประเทศสมาชิกจะพัฒนาโครงสร้างพื้นฐานดิจิทัลที่ไร้รอยต่อและครอบคลุม"
    "รวมถึงเครือข่ายห้าจีสายเคเบิลใต้น้ำและศูนย์ข้อมูลเพื่อให้ทุกชุมชนมีส่วนร่วมในเศรษฐกิจดิจิทัล"
)


def _lines(text, width, rules=CURRENT_RULES):
    return [text[s:e] for s, e in wrap_text(text, width, rules)]


def _section(pk, number, heading, body):
    return SimpleNamespace(pk=pk, number=number, heading=heading, body=body, first_line=None)


def test_the_same_text_always_gets_the_same_lines():
    first = number_section(number="1.1", heading="Scope", body=PROSE, first_line=1, width=80)
    again = number_section(number="1.1", heading="Scope", body=str(PROSE), first_line=1, width=80)
    assert first == again
    assert first.line_count == 5  # the heading, then the four lines below
    assert _lines(PROSE, 80) == [
        "Member states will develop seamless and inclusive digital infrastructure, ",
        "including 5G networks, submarine cables and data centres, so that every ",
        "community can take part in the digital economy.",
        "The secretariat reports each year on progress towards these outcomes.",
    ]


def test_no_line_is_longer_than_the_line_length_and_the_lines_cover_each_paragraph():
    for width in (20, 37, 80):
        spans = wrap_text(PROSE, width)
        for s, e in spans:
            assert text_width(PROSE[s:e].rstrip()) <= width
        covered = "".join(PROSE[s:e] for s, e in spans)
        assert covered == "".join(PROSE[s:e] for s, e in paragraphs(PROSE))


def test_a_word_longer_than_the_line_is_cut_at_the_line_length():
    word = "x" * 45
    assert _lines(f"see {word} here", 20) == ["see ", "x" * 20, "x" * 20, "xxxxx here"]


def test_blank_lines_get_no_number_and_a_single_line_break_starts_a_new_line():
    body = "First line\nsecond line\n\n   \n\nNext paragraph"
    assert _lines(body, 80) == ["First line\n", "second line", "Next paragraph"]


def test_vietnamese_counts_letters_not_bytes_nor_combining_marks():
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    assert len(VIETNAMESE.encode()) > 1.2 * len(VIETNAMESE)  # bytes would cut far earlier
    assert text_width(VIETNAMESE) == len(VIETNAMESE)
    assert text_width(decomposed) == len(VIETNAMESE)
    composed_lines = _lines(VIETNAMESE, 80)
    decomposed_lines = _lines(decomposed, 80)
    # Typed with precomposed letters or with combining marks, the text breaks at the same words.
    assert [unicodedata.normalize("NFC", line) for line in decomposed_lines] == composed_lines
    assert composed_lines == [
        "Các quốc gia thành viên sẽ phát triển hạ tầng số liền mạch và bao trùm, bao gồm ",
        "mạng 5G, cáp quang biển và trung tâm dữ liệu, để mọi cộng đồng đều tham gia nền ",
        "kinh tế số.",
    ]
    # Eighty letters a line, though each line is well over eighty bytes.
    assert len(composed_lines[1].rstrip()) == 79 and len(composed_lines[1].encode()) > 100


def test_thai_marks_take_no_place_and_never_start_a_line():
    assert char_width("\u0e34") == 0 and char_width("\u0e48") == 0  # sara i above, mai ek
    assert text_width(THAI) < len(THAI)
    for rules in (LEGACY_RULES, CURRENT_RULES):
        lines = _lines(THAI, 30, rules)
        assert "".join(lines) == THAI
        for line in lines:
            assert text_width(line) <= 30
            assert unicodedata.category(line[0]) not in ("Mn", "Me")


def test_versions_published_under_rules_1_keep_thai_cut_at_the_line_length():
    """Their numbers are cited in files already sent: they never move."""
    lines = _lines(THAI, 30, LEGACY_RULES)
    assert all(text_width(line) == 30 for line in lines[:-1])  # every line but the last is full
    assert lines[1].endswith("รวมถึงเครื") and lines[2].startswith("อข่าย")  # cut inside เครือข่าย


@pytest.mark.parametrize(
    "text",
    [
        THAI,
        "ສາທາລະນະລັດປະຊາທິປະໄຕປະຊາຊົນລາວເປັນສະມາຊິກຂອງສະມາຄົມປະຊາຊາດແຫ່ງອາຊີຕາເວັນອອກສ່ຽງໃຕ້",
        "ព្រះរាជាណាចក្រកម្ពុជាបានក្លាយជាសមាជិកនៃសមាគមប្រជាជាតិអាស៊ីអាគ្នេយ៍នៅឆ្នាំមួយពាន់ប្រាំបួនរយ",
        "မြန်မာနိုင်ငံသည်အရှေ့တောင်အာရှနိုင်ငံများအသင်းတွင်တစ်ထောင့်ကိုးရာကိုးဆယ့်ခုနစ်ခုနှစ်တွင်",
    ],
    ids=["thai", "lao", "khmer", "burmese"],
)
def test_new_versions_break_unspaced_scripts_between_words(text):
    lines = _lines(text, 30)
    assert len(lines) > 1 and "".join(lines) == text
    words = set(line_breaks.line_breaks(text))
    at = 0
    for line in lines[:-1]:
        assert text_width(line) <= 30
        at += len(line)
        assert at in words, f"line ends inside a word: {line!r}"


def test_the_rules_change_no_line_of_latin_or_vietnamese():
    for text in (PROSE, VIETNAMESE, "đồ-án https://example.org/a/b " * 5):
        for width in (20, 37, 80):
            assert wrap_text(text, width, CURRENT_RULES) == wrap_text(text, width, LEGACY_RULES)


def test_a_version_published_before_the_rules_were_stored_keeps_rules_1():
    sections = [_section(1, "1", "Outcomes", THAI)]
    legacy = number_document(sections, width=30, rules=LEGACY_RULES)
    sections[0].first_line = 1
    assert version_lines(stored_length=30, sections=sections).sections == legacy
    current = version_lines(stored_length=30, sections=sections, stored_rules=CURRENT_RULES).sections
    assert current == number_document(sections, width=30, rules=CURRENT_RULES) != legacy


def test_a_zero_width_space_is_where_thai_breaks():
    text = "\u200b".join(["ประเทศสมาชิก", "จะพัฒนา", "โครงสร้างพื้นฐาน", "ดิจิทัล"])
    lines = _lines(text, 20)
    assert lines[0] == "ประเทศสมาชิก\u200bจะพัฒนา\u200b"
    assert all(not line.startswith("\u200b") for line in lines)


def test_wide_characters_take_two_places():
    assert _lines("数字" * 10, 10) == ["数字数字数", "字数字数字", "数字数字数", "字数字数字"]


def test_numbers_run_through_the_document_heading_first():
    sections = [
        _section(1, "1", "Strategic outcomes", ""),
        _section(2, "1.1", "Infrastructure", PROSE),
        _section(3, "1.2", "Data centres", "One short paragraph."),
    ]
    numbered = number_document(sections, width=80)
    assert [(n.first_line, n.line_count) for n in numbered.values()] == [(1, 1), (2, 5), (7, 2)]
    assert numbered[2].numbered_heading() == [(2, 0, len("1.1 Infrastructure"))]
    assert [n for n, _s, _e in numbered[2].numbered_body()] == [3, 4, 5, 6]
    assert numbered[3].numbered_body()[0][0] == 8


def test_a_passage_cites_the_lines_it_covers():
    lines = number_section(number="1.1", heading="Infrastructure", body=PROSE, first_line=10, width=80)
    second_line = PROSE.index("including")
    assert lines.range_for(0, 6) == LineRange(11, 11)
    assert str(lines.range_for(0, 6)) == "11"
    assert lines.range_for(second_line, second_line + 9) == LineRange(12, 12)
    # From "seamless" on the first line to "community" on the third.
    span = lines.range_for(PROSE.index("seamless"), PROSE.index("community") + 9)
    assert str(span) == "11-13"
    # A passage that ends where a line ends stays on that line.
    assert lines.range_for(0, PROSE.index("including")) == LineRange(11, 11)
    last = PROSE.index("The secretariat")
    assert lines.range_for(last, len(PROSE)) == LineRange(14, 14)
    # A comment on the whole section cites its heading.
    assert lines.range_for(None, None) == LineRange(10, 10)


def test_a_published_numbering_keeps_its_stored_length_and_first_lines():
    sections = [_section(1, "1", "Outcomes", PROSE), _section(2, "2", "Next", PROSE)]
    at_publication = number_document(sections, width=40)
    for section in sections:
        section.first_line = at_publication[section.pk].first_line
    kept = version_lines(stored_length=40, sections=sections)
    assert kept.line_length == 40
    assert kept.sections == at_publication
    assert kept.line_range_for_comment(SimpleNamespace(section_id=2, position_start=0, position_end=3)) == (
        LineRange(at_publication[2].first_body_line, at_publication[2].first_body_line)
    )


def test_a_version_not_yet_numbered_is_numbered_with_the_setting(settings):
    settings.LINE_LENGTH = 40
    sections = [_section(1, "1", "Outcomes", PROSE)]
    assert version_lines(stored_length=None, sections=sections).sections == number_document(sections, width=40)


def test_wrap_refuses_a_line_length_below_one():
    with pytest.raises(ValueError):
        wrap("text", 0, 4, 0)
