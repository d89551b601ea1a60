"""Invitations: the only way into the platform."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_log
from config import jobs
from config.jobs import enqueue_after_commit
from config.text import clean_name
from consultations.models import Consultation, Participation, Role
from consultations.services import ensure_participation

from .models import Invitation, Organisation, User


def invitation_create(
    *,
    actor,
    consultation: Consultation,
    email: str,
    organisation: Organisation,
    role: str,
    is_focal_point: bool = False,
) -> Invitation:
    if not actor.has_perm("consultations.invite_participants", consultation):
        raise PermissionDenied(_("Only the secretariat or a site admin can invite participants."))
    email = User.objects.normalize_email(email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationError({"email": _("Enter a valid e-mail address.")})
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if role != organisation.kind:
        raise ValidationError(
            {
                "role": _("The role must match the organisation: %(org)s is a %(kind)s.")
                % {"org": organisation.name, "kind": organisation.get_kind_display()}
            }
        )
    if is_focal_point and role != Role.MEMBER_STATE:
        raise ValidationError({"is_focal_point": _("Only a member state delegate can be its focal point.")})
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email__iexact=email).first()
        if existing and existing.organisation_id and existing.organisation_id != organisation.pk:
            raise ValidationError(
                {
                    "email": _("%(email)s already belongs to %(org)s; a person acts for one organisation.")
                    % {"email": email, "org": existing.organisation.name}
                }
            )
        pending_elsewhere = (
            Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, expires_at__gt=timezone.now())
            .exclude(organisation=organisation)
            .select_related("organisation")
            .first()
        )
        if pending_elsewhere:
            raise ValidationError(
                {
                    "email": _("%(email)s already has a pending invitation for %(org)s.")
                    % {"email": email, "org": pending_elsewhere.organisation.name}
                }
            )
        if existing and Participation.objects.filter(consultation=consultation, user=existing).exists():
            raise ValidationError({"email": _("%(email)s already takes part in this consultation.") % {"email": email}})
        invitation = Invitation.objects.create(
            email=email,
            consultation=consultation,
            organisation=organisation,
            role=role,
            is_focal_point=is_focal_point,
            invited_by=actor,
        )
        audit_log(
            actor=actor,
            action="invitation.created",
            target=invitation,
            consultation=consultation,
            data={"email": email, "organisation": organisation.pk, "role": role},
        )
        from .tasks import send_invitation

        enqueue_after_commit(send_invitation, invitation.pk, job=invitation)
    return invitation


def invitation_resend(*, actor, invitation_ids: list[int]) -> list[int]:
    """Send the e-mail of these pending invitations once more; returns the ids queued."""
    from .tasks import send_invitation

    invitations = list(
        Invitation.objects.filter(pk__in=invitation_ids, accepted_at__isnull=True).select_related("consultation")
    )
    pending = [invitation.pk for invitation in invitations]
    with transaction.atomic():
        Invitation.objects.filter(pk__in=pending).update(sent_at=None, send_attempts=0, send_lease_expires_at=None)
        for invitation in invitations:
            audit_log(
                actor=actor,
                action="invitation.resent",
                target=invitation,
                consultation=invitation.consultation,
                data={"email": invitation.email},
            )
            enqueue_after_commit(send_invitation, invitation.pk)
    return pending


def _invitation_claim(invitation_id: int) -> int | None:
    """Take the invitation's e-mail for this worker (conditional UPDATE); the attempt number, or None."""
    now = timezone.now()
    claimed = (
        Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True, accepted_at__isnull=True)
        .filter(Q(send_lease_expires_at__isnull=True) | Q(send_lease_expires_at__lt=now))
        .update(send_attempts=F("send_attempts") + 1, send_lease_expires_at=jobs.lease_until(now))
    )
    if not claimed:
        return None
    return Invitation.objects.filter(pk=invitation_id).values_list("send_attempts", flat=True).get()


def invitation_send(*, invitation_id: int, send: Callable[[Invitation], None]) -> bool:
    """Send an invitation's e-mail at most once per request for it, claimed like any job (config.jobs).

    `send` delivers the message. A failure gives the claim back and raises (the task retries); a
    worker that dies mid-send lets its lease run out, and the sweep queues the e-mail again.
    """
    attempt = _invitation_claim(invitation_id)
    if attempt is None:
        return False  # sent already, accepted, or being sent by a live worker
    invitation = Invitation.objects.select_related("consultation", "organisation", "invited_by").get(pk=invitation_id)
    try:
        send(invitation)
    except BaseException:
        Invitation.objects.filter(pk=invitation_id, send_attempts=attempt).update(send_lease_expires_at=None)
        raise
    Invitation.objects.filter(pk=invitation_id, send_attempts=attempt).update(
        sent_at=timezone.now(), send_lease_expires_at=None
    )
    return True


def invitations_stranded():
    """Pending invitations whose e-mail should have gone out by now and is not being sent."""
    now = timezone.now()
    return Invitation.objects.filter(
        Q(send_lease_expires_at__isnull=True) | Q(send_lease_expires_at__lt=now),
        sent_at__isnull=True,
        accepted_at__isnull=True,
        expires_at__gt=now,
        created_at__lt=now - timedelta(seconds=settings.JOB_PUBLISH_GRACE_SECONDS),
        send_attempts__lt=settings.JOB_MAX_REQUEUES,
    )


def invitation_accept(*, token: str, user=None, password: str = "", full_name: str = "") -> tuple[Invitation, User]:
    """Accept an invitation: a newcomer sets a password; a known person must be logged in as themself."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("consultation", "organisation")
            .filter(token=token)
            .first()
        )
        if invitation is None or not invitation.is_usable():
            raise ValidationError(
                _("This invitation has expired or was already used. Ask the secretariat for a new one.")
            )
        existing = User.objects.filter(email__iexact=invitation.email).first()
        if existing is not None:
            if user is None or user.pk != existing.pk:
                raise PermissionDenied(
                    _("Log in as %(email)s to accept this invitation.") % {"email": invitation.email}
                )
            person = existing
        else:
            if user is not None and user.is_authenticated:
                raise PermissionDenied(
                    _("This invitation is for %(email)s. Log out first.") % {"email": invitation.email}
                )
            full_name = clean_name(full_name)[:200]
            candidate = User(email=invitation.email, full_name=full_name, organisation=invitation.organisation)
            validate_password(password, user=candidate)
            person = User.objects.create_user(
                email=invitation.email,
                password=password,
                full_name=full_name,
                organisation=invitation.organisation,
            )
            # The invitation link reached this inbox: the address is verified.
            EmailAddress.objects.create(user=person, email=person.email, primary=True, verified=True)
        if person.organisation_id is None:
            person.organisation = invitation.organisation
            person.save(update_fields=["organisation"])
        ensure_participation(
            consultation=invitation.consultation,
            user=person,
            organisation=invitation.organisation,
            role=invitation.role,
            is_focal_point=invitation.is_focal_point,
            actor=person,
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = person
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_log(actor=person, action="invitation.accepted", target=invitation, consultation=invitation.consultation)
    return invitation, person
