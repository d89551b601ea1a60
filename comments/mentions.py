"""@mentions in comments and replies: which people a text names, and how a page shows them.

A person's handle is the local part of their e-mail address ("@nguyen.an" for
nguyen.an@mofa.gov.vn): short, what a secretariat already types, and stable when a display name
is written differently in another script. Where two people who may see the thread share a local
part, neither is named by it; the full address ("@an@mic.gov.vn") names each. Only people who may
see the thread (comments.selectors.thread_audience) can be named: any other "@word" stays plain
text and tells no one, so a text never reveals who exists in another organisation.

The people named are kept with the text (`mentions`: {handle: display name}), so a card shows
them without a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# "@" not inside a word or an address, then a local part, optionally "@domain.tld".
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w][\w.+-]*(?:@[\w-]+(?:\.[\w-]+)+)?)")


def handle_of(email: str) -> str:
    return email.split("@", 1)[0].casefold()


def handles_in(*texts: str) -> set[str]:
    """Every handle a text writes, folded ("@An." at a sentence's end is "an")."""
    found: set[str] = set()
    for text in texts:
        if text and "@" in text:
            found.update(match.rstrip(".").casefold() for match in MENTION_RE.findall(text))
    return found


def resolve(handles: Iterable[str], people: Iterable) -> dict[str, object]:
    """{handle: person} for the handles that name exactly one of `people` (users with .email)."""
    by_local: dict[str, list] = {}
    by_address: dict[str, object] = {}
    for person in people:
        by_local.setdefault(handle_of(person.email), []).append(person)
        by_address[person.email.casefold()] = person
    named: dict[str, object] = {}
    for handle in handles:
        if "@" in handle:
            person = by_address.get(handle)
        else:
            candidates = by_local.get(handle, [])
            person = candidates[0] if len(candidates) == 1 else None
        if person is not None:
            named[handle] = person
    return named


def preferred_handle(person, people: Iterable) -> str:
    """What to type to name `person` among `people`: the local part, or the address when shared."""
    local = handle_of(person.email)
    shared = sum(1 for other in people if handle_of(other.email) == local)
    return local if shared <= 1 else person.email.casefold()


def render(text: str, mentions: dict[str, str] | None) -> SafeString:
    """The text, escaped, with each stored mention shown as the person's name, highlighted."""
    if not mentions:
        return SafeString(escape(text or ""))
    pieces: list[str] = []
    last = 0
    for match in MENTION_RE.finditer(text or ""):
        written = match.group(1)
        handle = written.rstrip(".")
        name = mentions.get(handle.casefold())
        if name is None:
            continue
        pieces.append(escape(text[last : match.start()]))
        pieces.append(f'<span class="mention" title="@{escape(handle)}">@{escape(name)}</span>')
        last = match.start() + 1 + len(handle)
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece is escaped above
