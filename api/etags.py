"""ETags and If-Match for comments: no lost updates.

A comment's ETag is the strong tag "<id>-<revision>". The revision is bumped by every change
the services make, so the tag changes whenever the comment's representation changes.
Writes that change a comment require If-Match with the tag the client last read (428
without it); the services compare the revision under a row lock and refuse a stale one (412).
"""

from __future__ import annotations

import re

from api.exceptions import PreconditionFailed, PreconditionRequired

_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def etag_for(comment) -> str:
    return f'"{comment.pk}-{comment.revision}"'


def expected_revision(request, comment) -> int | None:
    """The revision the client says it last read; None for `If-Match: *`.

    Raises 428 without the header and 412 when no listed tag names this comment's current
    revision (a weak tag never matches: If-Match uses the strong comparison, RFC 9110 13.1.1).
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired()
    if header.strip() == "*":
        return None
    tags = []
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match and not match.group(1):
            tags.append(match.group(2))
    prefix = f"{comment.pk}-"
    revisions = [tag[len(prefix) :] for tag in tags if tag.startswith(prefix)]
    for revision in revisions:
        if revision.isdigit() and int(revision) == comment.revision:
            return comment.revision
    # Stale or malformed: pass a revision that cannot match only if one was named, so that
    # the service refuses under its lock; otherwise refuse here.
    if revisions and revisions[0].isdigit():
        return int(revisions[0])
    raise PreconditionFailed()
