"""comments.anchoring.anchor_check: the server's check of a reader's selection (W3C TextQuote + TextPosition)."""

import unicodedata

import pytest
from django.core.exceptions import ValidationError

from comments.anchoring import CONTEXT_CHARS, NEARBY_CHARS, anchor_check

CLAUSE = "Member states will extend 5G coverage to all urban areas by 2028."


def _error_fields(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def test_exact_quote_at_the_given_position_is_kept():
    start = CLAUSE.index("5G coverage")

    anchor = anchor_check(CLAUSE, exact="5G coverage", start=start, end=start + 11)

    assert (anchor.start, anchor.end) == (26, 37)
    assert anchor.exact == "5G coverage"
    assert anchor.prefix == "Member states will extend "
    assert anchor.suffix == " to all urban areas by 2028."


def test_context_is_at_most_context_chars_each_side():
    text = "a" * 100 + "QUOTE" + "b" * 100

    anchor = anchor_check(text, exact="QUOTE", start=100, end=105)

    assert anchor.prefix == "a" * CONTEXT_CHARS
    assert anchor.suffix == "b" * CONTEXT_CHARS


@pytest.mark.parametrize("shift", [-5, -1, 1, 3, 7])
def test_quote_found_near_offsets_that_are_off_by_a_few_characters(shift):
    real = CLAUSE.index("urban areas")

    anchor = anchor_check(CLAUSE, exact="urban areas", start=real + shift, end=real + shift + 11)

    assert (anchor.start, anchor.end) == (real, real + 11)
    assert CLAUSE[anchor.start : anchor.end] == "urban areas"


def test_quote_without_positions_is_located_in_the_text():
    anchor = anchor_check(CLAUSE, exact="by 2028")

    assert (anchor.start, anchor.end) == (57, 64)


def test_quote_further_than_nearby_chars_from_the_given_position_is_not_accepted():
    text = "x" * 300 + " renewable energy " + "y" * 50
    real = text.index("renewable")
    too_far = real - NEARBY_CHARS - 1

    with pytest.raises(ValidationError) as excinfo:
        anchor_check(text, exact="renewable", start=too_far, end=too_far + 9)

    assert _error_fields(excinfo) == {"quote_exact"}
    # Just inside the window it is found.
    near = real - NEARBY_CHARS
    assert anchor_check(text, exact="renewable", start=near, end=near + 9).start == real


def test_nearby_occurrence_is_preferred_to_a_far_one():
    text = "open data " + "z" * 200 + " open data for all"
    second = text.rindex("open data")

    anchor = anchor_check(text, exact="open data", start=second + 4, end=second + 13)

    assert anchor.start == second


REPEATED = "The regional data exchange links the national data exchange of each member state."


def test_prefix_picks_the_right_one_of_a_repeated_quote():
    anchor = anchor_check(REPEATED, exact="data exchange", prefix="the national ", suffix=" of each")

    assert anchor.start == REPEATED.index("national data exchange") + len("national ")
    assert REPEATED[anchor.start - 9 : anchor.end] == "national data exchange"


def test_suffix_picks_the_right_one_of_a_repeated_quote():
    anchor = anchor_check(REPEATED, exact="data exchange", suffix=" links the")

    assert anchor.start == REPEATED.index("data exchange")


def test_context_beats_distance_when_both_occurrences_are_nearby():
    # The client's offsets point at the first occurrence (stale), the context at the second.
    first = REPEATED.index("data exchange")
    second = REPEATED.rindex("data exchange")

    anchor = anchor_check(REPEATED, exact="data exchange", prefix="national ", start=first + 1, end=first + 14)

    assert anchor.start == second


def test_quote_not_in_the_text_is_refused_with_a_message_for_the_reader():
    with pytest.raises(ValidationError) as excinfo:
        anchor_check(CLAUSE, exact="6G coverage", start=26, end=37)

    assert _error_fields(excinfo) == {"quote_exact"}
    assert "not found" in excinfo.value.message_dict["quote_exact"][0]


def test_quote_differing_only_in_case_is_not_found():
    with pytest.raises(ValidationError):
        anchor_check(CLAUSE, exact="member States")


@pytest.mark.parametrize("exact", ["", "   ", "\n\t"])
def test_empty_quote_is_refused(exact):
    with pytest.raises(ValidationError) as excinfo:
        anchor_check(CLAUSE, exact=exact, start=0, end=1)

    assert _error_fields(excinfo) == {"quote_exact"}


def test_quote_longer_than_the_text_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        anchor_check("short", exact="short and long")

    assert _error_fields(excinfo) == {"quote_exact"}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (-1, 5),  # before the text
        (10, 10),  # empty range
        (12, 8),  # reversed range
        (5, None),  # start without end
    ],
)
def test_invalid_positions_are_refused(start, end):
    with pytest.raises(ValidationError) as excinfo:
        anchor_check(CLAUSE, exact="Member", start=start, end=end)

    assert _error_fields(excinfo) == {"position_start"}


@pytest.mark.parametrize(("start", "end"), [(500, 506), (len(CLAUSE), len(CLAUSE) + 6), (10_000, 10_006)])
def test_positions_far_outside_the_text_are_refused(start, end):
    with pytest.raises(ValidationError):
        anchor_check(CLAUSE, exact="Member", start=start, end=end)


def test_quote_at_the_end_of_the_text_with_offsets_a_few_characters_late_is_found():
    """The same tolerance applies at the end of the text as in the middle.

    'by 2028.' ends the clause; a client whose offsets are 2 characters late sends an end
    just past the text. Mid-text the quote would be found nearby; here it must be too.
    """
    real = CLAUSE.index("by 2028.")

    anchor = anchor_check(CLAUSE, exact="by 2028.", start=real + 2, end=real + 10)

    assert (anchor.start, anchor.end) == (real, len(CLAUSE))


EMOJI_TEXT = "We endorse 👍🏽 data sharing across borders 🇻🇳🇹🇭 by 2030."


def test_positions_count_code_points_with_emoji():
    # 👍🏽 is two code points (thumbs up + skin tone) but four UTF-16 units; 🇻🇳🇹🇭 is four code points.
    start = EMOJI_TEXT.index("data sharing")
    assert start == 14

    anchor = anchor_check(EMOJI_TEXT, exact="data sharing", start=14, end=26)

    assert (anchor.start, anchor.end) == (14, 26)
    assert anchor.prefix == "We endorse 👍🏽 "


def test_quote_containing_emoji_is_anchored_by_code_points():
    start = EMOJI_TEXT.index("🇻🇳🇹🇭")

    anchor = anchor_check(EMOJI_TEXT, exact="🇻🇳🇹🇭 by 2030", start=start, end=start + 12)

    assert anchor.exact == "🇻🇳🇹🇭 by 2030"
    assert (anchor.start, anchor.end) == (start, start + 12)


def test_utf16_offsets_from_a_browser_are_corrected_to_code_points():
    # A client counting UTF-16 units is 2 positions late after 👍🏽; the nearby search recovers.
    anchor = anchor_check(EMOJI_TEXT, exact="data sharing", start=16, end=28)

    assert (anchor.start, anchor.end) == (14, 26)


def test_positions_count_code_points_with_combining_characters():
    decomposed = unicodedata.normalize("NFD", "Chuyển đổi số bao trùm")
    assert len(decomposed) > len("Chuyển đổi số bao trùm")
    quote = unicodedata.normalize("NFD", "bao trùm")
    start = decomposed.index(quote)

    anchor = anchor_check(decomposed, exact=quote, start=start, end=start + len(quote))

    assert (anchor.start, anchor.end) == (start, start + 9)
    assert decomposed[anchor.start : anchor.end] == quote
    assert anchor.prefix == unicodedata.normalize("NFD", "Chuyển đổi số ")
