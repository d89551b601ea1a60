"""Account security events from allauth, recorded in the site chain (they belong to no consultation).

Signals are the only way allauth tells us; the receivers stay thin and call audit_log.
"""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals

from .services import audit_log


def _authenticator(action: str):
    def receiver(sender, request=None, user=None, authenticator=None, **kwargs):
        audit_log(actor=user, action=action, target=authenticator, data={"type": authenticator.type})

    return receiver


def _account(action: str):
    def receiver(sender, request=None, user=None, **kwargs):
        audit_log(actor=user, action=action, target=user)

    return receiver


def _email_changed(sender, request=None, user=None, from_email_address=None, to_email_address=None, **kwargs):
    audit_log(
        actor=user,
        action="account.email_changed",
        target=user,
        data={
            "from": from_email_address.email if from_email_address else None,
            "to": to_email_address.email if to_email_address else None,
        },
    )


RECEIVERS = [
    (mfa_signals.authenticator_added, _authenticator("mfa.activated")),
    (mfa_signals.authenticator_removed, _authenticator("mfa.deactivated")),
    (mfa_signals.authenticator_reset, _authenticator("mfa.reset")),
    (account_signals.password_changed, _account("account.password_changed")),
    (account_signals.password_set, _account("account.password_set")),
    (account_signals.password_reset, _account("account.password_reset")),
    (account_signals.email_changed, _email_changed),
]


def connect() -> None:
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"audit.{receiver.__qualname__}.{id(signal)}")
