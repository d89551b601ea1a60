"""A decided disposition reads with its decision once: "Accepted: the second period...", never twice."""

import pytest
from django.utils import translation

from consolidation.documents.wording import decided_text, response_without_decision
from consolidation.models import Disposition

Decision = Disposition.Decision


@pytest.mark.parametrize(
    ("response", "decision", "expected"),
    [
        ("Accepted: the second period gives priority.", Decision.ACCEPTED, "the second period gives priority."),
        ("accepted - with thanks", Decision.ACCEPTED, "with thanks"),
        ("Accepted in part: islands fall under 1.4.1.", Decision.ACCEPTED_IN_PART, "islands fall under 1.4.1."),
        # Another decision's label is the response's own words, kept.
        (
            "Accepted in part: islands fall under 1.4.1.",
            Decision.ACCEPTED,
            "Accepted in part: islands fall under 1.4.1.",
        ),
        ("Accepted with the proposed wording.", Decision.ACCEPTED, "Accepted with the proposed wording."),
        ("Noted.", Decision.NOTED, ""),
        ("Agreed: version 0.2 names rural areas.", Decision.ACCEPTED, "Agreed: version 0.2 names rural areas."),
        ("", Decision.NOTED, ""),
    ],
)
def test_a_leading_decision_label_is_dropped_from_the_response(response, decision, expected):
    assert response_without_decision(response, decision) == expected


def test_the_label_is_recognised_in_every_language_of_the_platform():
    with translation.override("vi"):
        vietnamese = str(Decision.ACCEPTED.label)
    assert vietnamese != "Accepted"  # the catalogue translates it
    assert response_without_decision(f"{vietnamese}: đã bổ sung.", Decision.ACCEPTED) == "đã bổ sung."
    with translation.override("vi"):
        assert response_without_decision("Accepted: added.", Decision.ACCEPTED) == "added."


def test_decided_text_names_the_decision_once():
    assert (
        decided_text(decision=Decision.ACCEPTED, label="Accepted", response="Accepted: the second period.")
        == "Accepted: the second period."
    )
    assert decided_text(decision=Decision.NOTED, label="Noted", response="Noted.") == "Noted"
    assert decided_text(decision=Decision.NOTED, label="Noted", response="") == "Noted"
