"""Reads about accounts."""

from allauth.mfa.models import Authenticator

from .models import Role


def user_needs_mfa(*, user) -> bool:
    """Admins and secretariat members hold the keys to every consultation: they need MFA."""
    # consultations.Participation through its reverse relation: accounts imports no domain app.
    return user.is_staff or user.participations.filter(role=Role.SECRETARIAT).exists()


def user_must_set_up_mfa(*, user) -> bool:
    if not user_needs_mfa(user=user):
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
