"""How a decided disposition reads in a document: the decision once, then the response.

Secretariats often start a response with the decision ("Accepted: the second period now...").
Written after the decision label, that reads "Accepted: Accepted: the second period...". The
documents drop such a leading "<decision label>:" from the response; the stored response is
not changed. The label is recognised in every language of settings.LANGUAGES (a response
written in English under a Vietnamese export repeats the English label) and whatever its case.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from ..models import Disposition

# After the label: a colon (or a dash used as one), then spaces. "Accepted in part" must not
# lose "Accepted" to a response that starts with "Accepted in part:", so the whole label is
# matched, longest first.
_SEPARATOR = r"\s*[:\-–—]\s*"


@cache
def _labels(decision: str) -> tuple[str, ...]:
    """The decision's label in every configured language, longest first."""
    choices = dict(Disposition.Decision.choices)
    if decision not in choices:
        return ()
    labels = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels.add(str(choices[decision]))
    return tuple(sorted(labels, key=len, reverse=True))


def _prefix(decision: str) -> re.Pattern[str] | None:
    labels = _labels(decision)
    if not labels:
        return None
    return re.compile("(?:" + "|".join(re.escape(label) for label in labels) + ")" + _SEPARATOR, re.IGNORECASE)


def response_without_decision(response: str, decision: str) -> str:
    """`response` without a leading "<label of decision>:"; the rest is kept as written.

    "Accepted: the second period" under Accepted gives "the second period"; a response that is
    nothing but the label ("Accepted.") gives "".
    """
    text = (response or "").strip()
    pattern = _prefix(decision)
    if pattern is None or not text:
        return text
    match = pattern.match(text)
    if match is None:
        if any(text.casefold().rstrip(".").strip() == label.casefold() for label in _labels(decision)):
            return ""
        return text
    return text[match.end() :]


def decided_text(*, decision: str, label: str, response: str) -> str:
    """ "Label: response" with the response's own repetition of the label dropped, or the label alone."""
    rest = response_without_decision(response, decision)
    if not rest:
        return label
    return _("%(decision)s: %(response)s") % {"decision": label, "response": rest}
