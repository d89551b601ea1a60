"""Every write to comments: create, edit, submit, withdraw, reply, endorse, moderate, flag.

Each public function checks (the actor may see the comment, has the right, the round is open
for the actor's organisation at this second, the input is within limits), locks what it
changes, and then writes, keeping the comment's history. On any refusal nothing changes.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_log
from config.errors import RateLimitedError, RoundClosedError, StaleWriteError
from config.text import clean_text
from consultations.access import round_window
from consultations.models import EngagementRound, RoundExtension, Section
from consultations.rules import is_focal_point_in_round, participation_for

from .anchoring import anchor_check
from .mentions import handle_of, handles_in, resolve
from .models import (
    BODY_MAX_LENGTH,
    Comment,
    CommentFlag,
    CommentReturn,
    CommentRevision,
    CommentSupport,
    NationalPosition,
    Reply,
)
from .selectors import comments_visible_to, endorsed_count, in_own_delegation, thread_audience
from .signals import comment_returned, people_mentioned, reply_created

logger = logging.getLogger(__name__)

LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class AnchorInput:
    """What the browser or an API client sends for a selection."""

    exact: str
    prefix: str = ""
    suffix: str = ""
    start: int | None = None
    end: int | None = None


# --- checks -------------------------------------------------------------------------------


def check_text(field: str, value: str, *, required: bool, label: str) -> str:
    """The text as it will be stored (config.text.clean_text), or ValidationError."""
    value = value if value is not None else ""
    if "\x00" in value:
        raise ValidationError({field: _("%(label)s contains a NUL character.") % {"label": label}})
    value = clean_text(value)
    if required and not value.strip():
        raise ValidationError({field: _("%(label)s cannot be empty.") % {"label": label}})
    if len(value) > BODY_MAX_LENGTH:
        raise ValidationError(
            {
                field: _("%(label)s is at most %(max)s characters; this one has %(length)s.")
                % {"label": label, "max": f"{BODY_MAX_LENGTH:,}", "length": f"{len(value):,}"}
            }
        )
    return value


def check_language(language: str) -> str:
    language = (language or "").strip()
    max_length = Comment._meta.get_field("language").max_length
    too_long = max_length is not None and len(language) > max_length
    if language and (too_long or not LANGUAGE_RE.fullmatch(language)):
        raise ValidationError({"language": _("Give the language as a code such as en, vi or th.")})
    return language


def _check_reason(reason: str, *, missing: str) -> str:
    reason = clean_text(reason).strip()
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > 500:
        raise ValidationError({"reason": _("The reason is at most 500 characters.")})
    return reason


def check_suggestion(*, is_suggestion: bool, quote: str, proposed_change: str) -> None:
    """A suggested edit rewrites the quoted passage: it needs the passage and a different text."""
    if not is_suggestion:
        return
    if not quote:
        raise ValidationError({"is_suggestion": _("A suggested edit needs a selected passage to edit.")})
    if not proposed_change.strip():
        raise ValidationError({"proposed_change": _("Write the passage as you suggest it.")})
    if proposed_change.strip() == quote.strip():
        raise ValidationError(
            {
                "proposed_change": _(
                    "The suggested text is the same as the passage: change it, or do not suggest an edit."
                )
            }
        )


def check_type(comment_type: str) -> str:
    if comment_type not in Comment.Type.values:
        raise ValidationError({"type": _("The type must be general (ge), technical (te) or editorial (ed).")})
    return comment_type


def _check_round_open(
    actor, engagement_round: EngagementRound, now: datetime, *, extensions: dict[int, datetime] | None = None
) -> None:
    participation = participation_for(actor, engagement_round.consultation)
    organisation_id = participation.organisation_id if participation else None
    window = round_window(engagement_round, organisation_id, now=now, extensions=extensions)
    if window.is_open:
        return
    if window.not_yet_open:
        raise RoundClosedError(not_yet_open=True)
    raise RoundClosedError(window.closes_at)


def _check_visible(actor, comment: Comment) -> None:
    if not comments_visible_to(user=actor, engagement_round=comment.round).filter(pk=comment.pk).exists():
        raise Http404


def _check_rate(actor) -> None:
    """At most COMMENT_RATE_PER_MINUTE new comments and replies in any 60 seconds from one person.

    A sliding log of the person's recent writes in the cache (Redis in production), so a burst
    across a minute boundary counts as one minute, and Retry-After is exact.
    """
    limit = settings.COMMENT_RATE_PER_MINUTE
    if not limit:
        return
    now = timezone.now().timestamp()
    key = f"comment-rate:{actor.pk}"
    recent = [t for t in cache.get(key, []) if t > now - 60]
    if len(recent) >= limit:
        raise RateLimitedError(retry_after=max(1, math.ceil(recent[-limit] + 60 - now)))
    recent.append(now)
    cache.set(key, recent[-limit:], timeout=60)


def _check_revision(comment: Comment, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != comment.revision:
        raise StaleWriteError()


def _resolve_anchor(section: Section, anchor: AnchorInput | None) -> dict:
    if anchor is None:
        return {"quote_exact": "", "quote_prefix": "", "quote_suffix": "", "position_start": None, "position_end": None}
    checked = anchor_check(
        section.body, exact=anchor.exact, prefix=anchor.prefix, suffix=anchor.suffix, start=anchor.start, end=anchor.end
    )
    return {
        "quote_exact": checked.exact,
        "quote_prefix": checked.prefix,
        "quote_suffix": checked.suffix,
        "position_start": checked.start,
        "position_end": checked.end,
    }


def _content(comment: Comment) -> tuple:
    return (
        comment.type,
        comment.body,
        comment.proposed_change,
        comment.is_suggestion,
        comment.language,
        comment.quote_exact,
        comment.position_start,
        comment.position_end,
    )


def _audit_unendorsed(actor, comment: Comment, *, reason: str) -> None:
    audit_log(
        actor=actor,
        action="comment.unendorsed",
        target=comment,
        consultation=comment.round.consultation,
        data={"reason": reason},
    )


def revision_of(comment: Comment, *, actor, action: str) -> CommentRevision:
    """The history entry for a comment as it stands now (unsaved: callers may bulk-create them)."""
    return CommentRevision(
        comment=comment,
        number=comment.revision,
        action=action,
        actor=actor,
        type=comment.type,
        status=comment.status,
        body=comment.body,
        proposed_change=comment.proposed_change,
        language=comment.language,
        quote_exact=comment.quote_exact,
        position_start=comment.position_start,
        position_end=comment.position_end,
    )


def record_revision(comment: Comment, *, actor, action: str) -> CommentRevision:
    revision = revision_of(comment, actor=actor, action=action)
    revision.save()
    return revision


def _fresh_round(engagement_round: EngagementRound) -> EngagementRound:
    return (
        EngagementRound.objects.select_related("consultation")
        .prefetch_related("extensions")
        .get(pk=engagement_round.pk)
    )


def _fresh_round_for(
    engagement_round: EngagementRound, organisation_id: int
) -> tuple[EngagementRound, dict[int, datetime]]:
    """The stored round and the one extension a write of `organisation_id` depends on, read in one
    query (a "close now" or a new extension counts). Its consultation and version are the caller's
    objects (neither changes under a round): the card and the audit entry need no other query.
    The writer's extension stays on the round as `own_extension` (see writer_extensions)."""
    # At most one row (one extension per organisation and round): no ordering, which would join
    # the organisations to sort by name.
    own_extension = (
        RoundExtension.objects.filter(round=OuterRef("pk"), organisation_id=organisation_id)
        .order_by()
        .values("closes_at")
    )
    fresh = EngagementRound.objects.annotate(own_extension=Subquery(own_extension)).get(pk=engagement_round.pk)
    fresh.consultation = engagement_round.consultation
    fresh.version = engagement_round.version
    closes_at = fresh.own_extension
    return fresh, ({organisation_id: closes_at} if closes_at is not None else {})


def writer_extensions_of(engagement_round: EngagementRound, organisation_id: int) -> dict[int, datetime]:
    """{organisation: closing} of the writer's own extension read with the round (`own_extension`),
    or {} when it has none."""
    closes_at = engagement_round.own_extension  # type: ignore[attr-defined]
    return {organisation_id: closes_at} if closes_at is not None else {}


def writer_extensions(comment: Comment) -> dict[int, datetime] | None:
    """The extensions that decided whether `comment` could be written, as comment_create read them
    with its round (the writer's own one, if any); None for a round not read by a write."""
    if not hasattr(comment.round, "own_extension"):
        return None
    return writer_extensions_of(comment.round, comment.organisation_id)


def _lock(comment: Comment) -> Comment:
    return (
        Comment.objects.select_for_update(of=("self",))
        .select_related("round__consultation", "section")
        .get(pk=comment.pk)
    )


def _named(comment: Comment, *texts: str) -> dict[str, object]:
    """{handle: person} of the people `texts` name who may see `comment`'s thread now.

    No query for a text without "@"; else one, narrowed to the handles written.
    """
    handles = handles_in(*texts)
    if not handles:
        return {}
    wanted = Q()
    for handle in handles:
        wanted |= Q(user__email__iexact=handle) if "@" in handle else Q(user__email__istartswith=f"{handle}@")
    audience = thread_audience(
        engagement_round=comment.round,
        organisation_id=comment.organisation_id,
        status=comment.status,
        is_hidden=comment.is_hidden,
    )
    people = [p.user for p in audience.filter(wanted).select_related("user")]
    # Python's case folding decides, not the database's (they differ on some non-ASCII letters).
    people = [p for p in people if handle_of(p.email) in handles or p.email.casefold() in handles]
    return resolve(handles, people)


def _mention(*, actor, comment: Comment, named: dict[str, object], reply: Reply | None = None) -> dict | None:
    """The stored form of `named`, after telling the apps above (notifications) who was named."""
    if not named:
        return None
    people = [person for person in named.values() if getattr(person, "pk", None) != actor.pk]
    if people:
        people_mentioned.send(sender=Comment, actor=actor, comment=comment, reply=reply, people=people)
    return {handle: person.get_full_name() for handle, person in sorted(named.items())}  # type: ignore[attr-defined]


def _remention(actor, comment: Comment) -> None:
    """After a saved change of a comment's text or audience: who it names now (stored if changed)."""
    mentions = _mention(actor=actor, comment=comment, named=_named(comment, comment.body, comment.proposed_change))
    if mentions != comment.mentions:
        comment.mentions = mentions
        Comment.objects.filter(pk=comment.pk).update(mentions=mentions)


# --- comments -----------------------------------------------------------------------------


def comment_create(
    *,
    actor,
    engagement_round: EngagementRound,
    section: Section,
    comment_type: str,
    body: str,
    proposed_change: str = "",
    language: str = "",
    anchor: AnchorInput | None = None,
    submit: bool = False,
    is_suggestion: bool = False,
    fresh: bool = False,
) -> Comment:
    """Write a comment on a section of the version under review, as a draft or submitted.

    `is_suggestion`: the proposed change is the quoted passage as the writer would have it (shown
    as a diff of the two); it then needs a passage and a text that differs from it.
    `fresh`: the caller read `engagement_round` in this request together with the writer's own
    extension (`own_extension`: comments.selectors.writing_target_for_user), so it is not read
    again. Otherwise (a round held since earlier, as an import's) the stored round is read in the
    transaction. Neither locks the round: a "close now" committed after the read is not seen
    either way, and the difference is the milliseconds between the two reads.
    """
    if not actor.has_perm("consultations.view_consultation", engagement_round.consultation):
        raise Http404
    if not actor.has_perm("comments.add_comment", engagement_round):
        raise PermissionDenied(_("Your role does not comment in this round."))
    if section.version_id != engagement_round.version_id:
        raise ValidationError({"section": _("This section belongs to another version than the one under review.")})
    check_type(comment_type)
    body = check_text("body", body, required=True, label=_("The comment"))
    proposed_change = check_text("proposed_change", proposed_change, required=False, label=_("The proposed change"))
    language = check_language(language)
    anchor_fields = _resolve_anchor(section, anchor)
    check_suggestion(is_suggestion=is_suggestion, quote=anchor_fields["quote_exact"], proposed_change=proposed_change)
    participation = participation_for(actor, engagement_round.consultation)
    if participation is None:  # add_comment admits only participants; this keeps it so if the rule changes
        raise PermissionDenied(_("Your role does not comment in this round."))
    if fresh:
        extensions = writer_extensions_of(engagement_round, participation.organisation_id)
    with transaction.atomic():
        if not fresh:
            # The caller's copy of the round may predate a "close now": check the stored one.
            engagement_round, extensions = _fresh_round_for(engagement_round, participation.organisation_id)
        now = timezone.now()
        _check_round_open(actor, engagement_round, now, extensions=extensions)
        _check_rate(actor)
        status = Comment.Status.SUBMITTED if submit else Comment.Status.DRAFT
        comment = Comment.objects.create(
            round=engagement_round,
            section=section,
            author=actor,
            # The object, not its id: the new comment's card shows it without another query.
            organisation=participation.organisation,
            type=comment_type,
            body=body,
            proposed_change=proposed_change,
            is_suggestion=is_suggestion,
            language=language,
            status=status,
            submitted_at=now if submit else None,
            **anchor_fields,
        )
        record_revision(
            comment, actor=actor, action=CommentRevision.Action.SUBMITTED if submit else CommentRevision.Action.CREATED
        )
        mentions = _mention(actor=actor, comment=comment, named=_named(comment, body, proposed_change))
        if mentions:
            comment.mentions = mentions
            Comment.objects.filter(pk=comment.pk).update(mentions=mentions)
        audit_log(
            actor=actor,
            action="comment.submitted" if submit else "comment.created",
            target=comment,
            consultation=engagement_round.consultation,
        )
    return comment


def comment_update(
    *,
    actor,
    comment: Comment,
    comment_type: str,
    body: str,
    proposed_change: str = "",
    language: str = "",
    anchor: AnchorInput | None = None,
    keep_anchor: bool = False,
    expected_revision: int | None = None,
    is_suggestion: bool | None = None,
) -> Comment:
    """The author edits a draft or submitted comment while the round is open for them.

    `is_suggestion` None keeps the comment's mode (a client that does not know of suggestions).
    """
    _check_visible(actor, comment)
    if not actor.has_perm("comments.change_comment", comment):
        raise PermissionDenied(_("Only the author can edit this comment."))
    check_type(comment_type)
    body = check_text("body", body, required=True, label=_("The comment"))
    proposed_change = check_text("proposed_change", proposed_change, required=False, label=_("The proposed change"))
    language = check_language(language)
    anchor_fields = None if keep_anchor else _resolve_anchor(comment.section, anchor)
    with transaction.atomic():
        locked = _lock(comment)
        _check_revision(locked, expected_revision)
        if locked.status == Comment.Status.WITHDRAWN:
            raise ValidationError(_("A withdrawn comment can no longer be edited."))
        _check_round_open(actor, locked.round, timezone.now())
        before = _content(locked)
        locked.type, locked.body, locked.proposed_change, locked.language = (
            comment_type,
            body,
            proposed_change,
            language,
        )
        if anchor_fields is not None:
            for name, value in anchor_fields.items():
                setattr(locked, name, value)
        if is_suggestion is not None:
            locked.is_suggestion = is_suggestion
        check_suggestion(
            is_suggestion=locked.is_suggestion, quote=locked.quote_exact, proposed_change=locked.proposed_change
        )
        if _content(locked) == before:
            return locked
        # The focal point endorsed the text as it was; a changed text needs endorsing again.
        unendorsed = locked.is_endorsed
        locked.is_endorsed, locked.endorsed_by, locked.endorsed_at = False, None, None
        locked.revision += 1
        locked.save()
        _remention(actor, locked)
        record_revision(locked, actor=actor, action=CommentRevision.Action.EDITED)
        audit_log(actor=actor, action="comment.edited", target=locked, consultation=locked.round.consultation)
        if unendorsed:
            _audit_unendorsed(actor, locked, reason="edited")
    return locked


def comment_submit(*, actor, comment: Comment, expected_revision: int | None = None) -> Comment:
    _check_visible(actor, comment)
    if not actor.has_perm("comments.change_comment", comment):
        raise PermissionDenied(_("Only the author can submit this comment."))
    with transaction.atomic():
        locked = _lock(comment)
        _check_revision(locked, expected_revision)
        if locked.status != Comment.Status.DRAFT:
            raise ValidationError(_("Only a draft can be submitted."))
        now = timezone.now()
        _check_round_open(actor, locked.round, now)
        locked.status, locked.submitted_at = Comment.Status.SUBMITTED, now
        locked.revision += 1
        locked.save()
        # Submitted, the comment reaches the team (and, as the round allows, other delegations):
        # names that were plain text in the draft may now name someone.
        _remention(actor, locked)
        record_revision(locked, actor=actor, action=CommentRevision.Action.SUBMITTED)
        audit_log(actor=actor, action="comment.submitted", target=locked, consultation=locked.round.consultation)
    return locked


def comment_withdraw(*, actor, comment: Comment, expected_revision: int | None = None) -> Comment:
    """The author withdraws a comment. The record stays; it is no longer part of the feedback."""
    _check_visible(actor, comment)
    if not actor.has_perm("comments.change_comment", comment):
        raise PermissionDenied(_("Only the author can withdraw this comment."))
    with transaction.atomic():
        locked = _lock(comment)
        _check_revision(locked, expected_revision)
        if locked.status == Comment.Status.WITHDRAWN:
            raise ValidationError(_("This comment is already withdrawn."))
        now = timezone.now()
        _check_round_open(actor, locked.round, now)
        unendorsed = locked.is_endorsed
        locked.status, locked.withdrawn_at = Comment.Status.WITHDRAWN, now
        locked.is_endorsed, locked.endorsed_by, locked.endorsed_at = False, None, None
        locked.revision += 1
        locked.save()
        record_revision(locked, actor=actor, action=CommentRevision.Action.WITHDRAWN)
        audit_log(actor=actor, action="comment.withdrawn", target=locked, consultation=locked.round.consultation)
        if unendorsed:
            _audit_unendorsed(actor, locked, reason="withdrawn")
    return locked


# --- replies ------------------------------------------------------------------------------


def reply_create(*, actor, comment: Comment, body: str, language: str = "") -> Reply:
    """Reply in a comment's thread; the comment's delegation hears of it (reply_created: notifications)."""
    _check_visible(actor, comment)
    if not actor.has_perm("comments.reply", comment):
        raise PermissionDenied(_("Your role does not take part in this round."))
    if comment.status == Comment.Status.WITHDRAWN:
        raise ValidationError(_("This comment was withdrawn; it takes no more replies."))
    body = check_text("body", body, required=True, label=_("The reply"))
    language = check_language(language)
    participation = participation_for(actor, comment.round.consultation)
    organisation_id = participation.organisation_id if participation else actor.organisation_id
    if organisation_id is None:
        raise PermissionDenied(_("Only participants can reply."))
    with transaction.atomic():
        _check_round_open(actor, _fresh_round(comment.round), timezone.now())
        _check_rate(actor)
        reply = Reply.objects.create(
            comment=comment, author=actor, organisation_id=organisation_id, body=body, language=language
        )
        mentions = _mention(actor=actor, comment=comment, named=_named(comment, body), reply=reply)
        if mentions:
            reply.mentions = mentions
            Reply.objects.filter(pk=reply.pk).update(mentions=mentions)
        reply_created.send(sender=Reply, reply=reply)
        audit_log(actor=actor, action="comment.replied", target=comment, consultation=comment.round.consultation)
    return reply


# --- the focal point sends a comment back -------------------------------------------------

RETURN_NOTE_MAX_LENGTH = 2_000


def comment_return(*, actor, comment: Comment, note: str, expected_revision: int | None = None) -> CommentReturn:
    """The focal point sends a colleague's submitted comment back to its author, with a note.

    The comment becomes a draft again (out of the national position if it was in it) for the
    author to revise and submit again while the round is open for the delegation; the author
    hears of it (comment_returned: notifications). Another organisation's comment is a 404,
    whatever the round lets the focal point read of it.
    """
    _check_visible(actor, comment)
    if not in_own_delegation(user=actor, comment=comment):
        raise Http404
    if not actor.has_perm("comments.return_comment", comment):
        raise PermissionDenied(_("Only your delegation's focal point can send a colleague's comment back."))
    note = check_text("note", note, required=True, label=_("The note"))
    if len(note) > RETURN_NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": _("The note is at most %(max)s characters.") % {"max": f"{RETURN_NOTE_MAX_LENGTH:,}"}}
        )
    with transaction.atomic():
        locked = _lock(comment)
        _check_revision(locked, expected_revision)
        if locked.status != Comment.Status.SUBMITTED:
            raise ValidationError(_("Only a submitted comment can be sent back to its author."))
        _check_round_open(actor, locked.round, timezone.now())
        unendorsed = locked.is_endorsed
        locked.status, locked.submitted_at = Comment.Status.DRAFT, None
        locked.is_endorsed, locked.endorsed_by, locked.endorsed_at = False, None, None
        locked.revision += 1
        locked.save()
        record_revision(locked, actor=actor, action=CommentRevision.Action.RETURNED)
        returned = CommentReturn.objects.create(comment=locked, returned_by=actor, note=note, revision=locked.revision)
        audit_log(
            actor=actor,
            action="comment.returned",
            target=locked,
            consultation=locked.round.consultation,
            data={"note": note},
        )
        if unendorsed:
            _audit_unendorsed(actor, locked, reason="returned")
        comment_returned.send(sender=CommentReturn, comment_return=returned)
    return returned


# --- national positions -------------------------------------------------------------------


def comment_set_endorsed(*, actor, comment: Comment, endorsed: bool, expected_revision: int | None = None) -> Comment:
    """The focal point puts a delegation's submitted comment into the national position, or takes it out."""
    _check_visible(actor, comment)
    if not actor.has_perm("comments.endorse_comment", comment):
        raise PermissionDenied(_("Only your delegation's focal point can endorse comments."))
    with transaction.atomic():
        locked = _lock(comment)
        _check_revision(locked, expected_revision)
        if locked.status != Comment.Status.SUBMITTED:
            raise ValidationError(_("Only a submitted comment can be part of the national position."))
        _check_round_open(actor, locked.round, timezone.now())
        if locked.is_endorsed == endorsed:
            return locked
        locked.is_endorsed = endorsed
        locked.endorsed_by, locked.endorsed_at = (actor, timezone.now()) if endorsed else (None, None)
        locked.revision += 1
        locked.save()
        audit_log(
            actor=actor,
            action="comment.endorsed" if endorsed else "comment.unendorsed",
            target=locked,
            consultation=locked.round.consultation,
        )
    return locked


def national_position_submit(*, actor, engagement_round: EngagementRound, note: str = "") -> NationalPosition:
    """The focal point submits the delegation's national position: its endorsed comments."""
    participation = participation_for(actor, engagement_round.consultation)
    if participation is None:
        raise Http404
    if not is_focal_point_in_round(actor, engagement_round):
        raise PermissionDenied(_("Only your delegation's focal point can submit the national position."))
    note = check_text("note", note, required=False, label=_("The covering note"))
    with transaction.atomic():
        engagement_round = _fresh_round(engagement_round)
        _check_round_open(actor, engagement_round, timezone.now())
        endorsed = endorsed_count(engagement_round=engagement_round, organisation_id=participation.organisation_id)
        if not endorsed:
            raise ValidationError(_("Endorse at least one submitted comment before submitting the national position."))
        position, _created = NationalPosition.objects.update_or_create(
            round=engagement_round,
            organisation_id=participation.organisation_id,
            defaults={"submitted_by": actor, "submitted_at": timezone.now(), "endorsed_count": endorsed, "note": note},
        )
        audit_log(
            actor=actor,
            action="position.submitted",
            target=position,
            consultation=engagement_round.consultation,
            data={"endorsed": endorsed},
        )
    return position


# --- moderation ---------------------------------------------------------------------------


def comment_hide(*, actor, comment: Comment, reason: str) -> Comment:
    """The secretariat hides a comment from other participants. It stays in the record, flagged."""
    _check_visible(actor, comment)
    if not actor.has_perm("comments.moderate_comment", comment):
        raise PermissionDenied(_("Only the secretariat can hide comments."))
    reason = _check_reason(reason, missing=_("Give the reason for hiding this comment."))
    with transaction.atomic():
        locked = _lock(comment)
        locked.is_hidden, locked.hidden_reason, locked.hidden_by, locked.hidden_at = True, reason, actor, timezone.now()
        locked.revision += 1
        locked.save()
        CommentFlag.objects.filter(comment=locked, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=actor
        )
        audit_log(
            actor=actor,
            action="comment.hidden",
            target=locked,
            consultation=locked.round.consultation,
            data={"reason": reason},
        )
    return locked


def comment_unhide(*, actor, comment: Comment) -> Comment:
    _check_visible(actor, comment)
    if not actor.has_perm("comments.moderate_comment", comment):
        raise PermissionDenied(_("Only the secretariat can hide comments."))
    with transaction.atomic():
        locked = _lock(comment)
        locked.is_hidden, locked.hidden_reason, locked.hidden_by, locked.hidden_at = False, "", None, None
        locked.revision += 1
        locked.save()
        audit_log(actor=actor, action="comment.unhidden", target=locked, consultation=locked.round.consultation)
    return locked


def comment_flag(*, actor, comment: Comment, reason: str) -> CommentFlag:
    """A participant asks the secretariat to look at a comment."""
    _check_visible(actor, comment)
    if not actor.has_perm("comments.flag_comment", comment):
        raise PermissionDenied(_("Your role does not take part in this round."))
    reason = _check_reason(reason, missing=_("Say briefly why the secretariat should look at this comment."))
    with transaction.atomic():
        flag, created = CommentFlag.objects.get_or_create(
            comment=comment, flagged_by=actor, defaults={"reason": reason}
        )
        if not created:
            raise ValidationError(_("You have already flagged this comment."))
        audit_log(actor=actor, action="comment.flagged", target=comment, consultation=comment.round.consultation)
    return flag


# --- conversation: resolving threads, supporting comments ---------------------------------


def _bump(comment: Comment, **fields) -> None:
    """Store `fields` and a new revision, leaving updated_at (the text's last change) as it was.

    The comment's representation (API, ETag "<id>-<revision>") and the consolidation's
    fingerprint of (id, revision) pairs both show its supporters and resolution: a change of
    either is a new revision, so a cached copy or a snapshot made before it is seen as stale.
    """
    comment.revision += 1
    Comment.objects.filter(pk=comment.pk).update(revision=comment.revision, **fields)


def thread_set_resolved(*, actor, comment: Comment, resolved: bool) -> Comment:
    """Mark a comment's thread resolved (it collapses on the section page) or reopen it.

    The comment's author, its delegation's focal point or the organisers, while the round is open
    for them (threads freeze with the round, as replies do). Not a change of the text: no history
    entry and the same updated_at; the audit log records who did it (see _bump for the revision).
    """
    _check_visible(actor, comment)
    if not actor.has_perm("comments.resolve_thread", comment):
        raise PermissionDenied(
            _("Only the comment's author, its delegation's focal point or the secretariat can resolve this thread.")
        )
    with transaction.atomic():
        locked = _lock(comment)
        if locked.status == Comment.Status.WITHDRAWN:
            raise ValidationError(_("This comment was withdrawn; its thread is closed."))
        _check_round_open(actor, locked.round, timezone.now())
        if (locked.resolved_at is not None) == resolved:
            return locked
        locked.resolved_at, locked.resolved_by = (timezone.now(), actor) if resolved else (None, None)
        _bump(locked, resolved_at=locked.resolved_at, resolved_by=locked.resolved_by)
        audit_log(
            actor=actor,
            action="thread.resolved" if resolved else "thread.reopened",
            target=locked,
            consultation=locked.round.consultation,
        )
    return locked


def _support_checks(actor, comment: Comment) -> int:
    """The checks of a support and of its withdrawal; the actor's organisation."""
    _check_visible(actor, comment)
    participation = participation_for(actor, comment.round.consultation)
    if participation is not None and participation.organisation_id == comment.organisation_id:
        raise PermissionDenied(_("Your delegation cannot support its own comment."))
    if participation is None or not actor.has_perm("comments.support_comment", comment):
        raise PermissionDenied(_("Only another delegation taking part in the round can support a comment."))
    return participation.organisation_id


def comment_support(*, actor, comment: Comment) -> CommentSupport:
    """The actor's delegation states its support for another delegation's submitted comment."""
    organisation_id = _support_checks(actor, comment)
    with transaction.atomic():
        locked = _lock(comment)
        if locked.status != Comment.Status.SUBMITTED:
            raise ValidationError(_("Only a submitted comment can be supported."))
        _check_round_open(actor, locked.round, timezone.now())
        support, created = CommentSupport.objects.get_or_create(
            comment=locked, organisation_id=organisation_id, defaults={"supported_by": actor}
        )
        if not created:
            raise ValidationError(_("Your delegation already supports this comment."))
        _bump(locked)
        audit_log(
            actor=actor,
            action="comment.supported",
            target=locked,
            consultation=locked.round.consultation,
            data={"organisation": organisation_id},
        )
    return support


def comment_support_withdraw(*, actor, comment: Comment) -> Comment:
    """The actor's delegation withdraws its support, while the round is open for it."""
    organisation_id = _support_checks(actor, comment)
    with transaction.atomic():
        locked = _lock(comment)
        _check_round_open(actor, locked.round, timezone.now())
        deleted, _rows = CommentSupport.objects.filter(comment=locked, organisation_id=organisation_id).delete()
        if not deleted:
            raise ValidationError(_("Your delegation does not support this comment."))
        _bump(locked)
        audit_log(
            actor=actor,
            action="comment.support_withdrawn",
            target=locked,
            consultation=locked.round.consultation,
            data={"organisation": organisation_id},
        )
    return locked
