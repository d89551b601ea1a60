"""allauth adapter: nobody signs up on their own; people arrive through an invitation."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.utils.translation import gettext as _


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    # The platform keeps no phone numbers (ACCOUNT_LOGIN_METHODS is e-mail only), but allauth's
    # headless API still routes /account/phone; without these a signed-in GET there was a 500.
    def get_phone(self, user):
        return None

    def get_user_by_phone(self, phone):
        return None

    def clean_phone(self, phone):
        raise forms.ValidationError(_("This platform does not use phone numbers."))
