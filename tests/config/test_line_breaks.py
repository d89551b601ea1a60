"""config.line_breaks: where lines may end in Thai, Lao, Khmer and Burmese, never inside a letter."""

import unicodedata

import pytest

from config import line_breaks


def words(text: str) -> list[str]:
    bounds = [0, *line_breaks.line_breaks(text), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def test_the_segmenter_is_installed():
    """requirements.txt pins icu4py; without it the four scripts break only at spaces (report_fonts fails in CI)."""
    assert line_breaks.SEGMENTER == "icu4py"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ประเทศไทยมีประชากรประมาณหกสิบเก้าล้านคน",
            ["ประเทศไทย", "มี", "ประชากร", "ประมาณ", "หก", "สิบ", "เก้า", "ล้าน", "คน"],
        ),
        ("ປະເທດລາວເປັນສະມາຊິກຂອງອາຊຽນ", ["ປະເທດ", "ລາວ", "ເປັນ", "ສະມາຊິກ", "ຂອງ", "ອາຊຽນ"]),
        ("ព្រះរាជាណាចក្រកម្ពុជាគាំទ្រការកែប្រែនេះ", ["ព្រះរាជាណាចក្រ", "កម្ពុជា", "គាំទ្រ", "ការ", "កែប្រែ", "នេះ"]),
        ("မြန်မာနိုင်ငံသည်အဖွဲ့ဝင်ဖြစ်သည်", ["မြန်မာနိုင်ငံ", "သည်", "အဖွဲ့", "ဝင်", "ဖြစ်သည်"]),
    ],
    ids=["thai", "lao", "khmer", "burmese"],
)
def test_unspaced_scripts_break_between_dictionary_words(text, expected):
    assert words(text) == expected


def test_spaced_text_breaks_after_spaces_and_hyphens_as_uax14_says():
    assert words("Đề nghị sửa đổi đồ-án") == ["Đề ", "nghị ", "sửa ", "đổi ", "đồ-", "án"]


def test_offsets_are_code_points_past_characters_outside_the_bmp():
    """ICU counts UTF-16 units: an emoji before the Thai must not shift the breaks."""
    assert words("👍🏽ประเทศไทยมีประชากร")[-2:] == ["มี", "ประชากร"]


@pytest.mark.parametrize(
    "text",
    ["ក្រុមហ៊ុនព្រះរាជាណាចក្រ", "ကမ္ဘာ့သင်္ချိုင်းမြန်မာ", "ดิจิทัลเศรษฐกิจ", "ເສດຖະກິດດິຈິຕອນ", "e\u0301te\u0301 Vie\u0302\u0323t"],
    ids=["khmer", "burmese", "thai", "lao", "combining-latin"],
)
def test_a_too_long_word_is_cut_between_clusters_never_before_a_mark(text):
    cuts = line_breaks.cluster_breaks(text)
    assert cuts, "there are places to cut"
    for at in cuts:
        assert unicodedata.category(text[at])[0] != "M", (text[:at], text[at:])
        assert text[at - 1] not in "\u17d2\u1039\u200d", "a coeng, virama or joiner binds the next letter"
        assert text[at - 1] not in "เแโใไເແໂໃໄ", "a vowel written before its consonant stays with it"
    assert set(line_breaks.line_breaks(text)) <= set(cuts)
