"""People and the organisations they act for.

E-mail is the login from the first migration. A person belongs to one organisation; their role
comes with each participation in a consultation (see consultations.Participation).
"""

from typing import ClassVar

import rules
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.text import clean_name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class Role(models.TextChoices):
    """What an organisation is, and so the role of everyone acting for it in a consultation."""

    SECRETARIAT = "secretariat", _("Secretariat")
    CONSULTANT = "consultant", _("Consultant")
    MEMBER_STATE = "member_state", _("Member state")
    PARTNER = "partner", _("Development partner")


class EmailFrequency(models.TextChoices):
    """How a person wants to hear by e-mail of what happened (their inbox on the site has it all)."""

    IMMEDIATE = "immediate", _("At once")
    DAILY = "daily", _("Once a day, in a digest")
    NONE = "none", _("Never (the inbox on the site only)")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Role.choices)
    country_code = models.CharField(
        _("country code"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2, for member states.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="member_state") | ~models.Q(country_code=""),
                name="member_state_has_country_code",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Admin forms: no bidi overrides or zero-width characters in a name others read.
        self.name, self.short_name = clean_name(self.name), clean_name(self.short_name)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("Dates and deadlines are shown in this time zone.")
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        help_text=_("E-mails are written in this language. Empty: the site's default language."),
    )
    email_frequency = models.CharField(
        _("e-mail notifications"),
        max_length=10,
        choices=EmailFrequency.choices,
        default=EmailFrequency.IMMEDIATE,
    )
    is_staff = models.BooleanField(
        _("site admin"), default=False, help_text=_("Runs consultation windows and may use the admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.full_name = clean_name(self.full_name)

    def has_perm(self, perm, obj=None) -> bool:
        # A rule (django-rules) decides for everyone, superusers included: being a superuser
        # does not make someone the author of every comment or every delegation's focal point
        # (Django's shortcut let a superuser withdraw and edit any delegation's comments).
        # Django's model permissions (the admin's add/change/delete) keep the shortcut.
        if rules.perm_exists(perm):
            return self.is_active and rules.has_perm(perm, self, obj)
        return super().has_perm(perm, obj)

    @property
    def email_language(self) -> str:
        """The language of every e-mail to this person: theirs, else the site's."""
        return self.language or settings.LANGUAGE_CODE

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        # The whole name: which part is the given name differs between cultures (Nguyễn Thu Hà's
        # given name comes last), and a wrong guess in a greeting is worse than the full name.
        return self.full_name or self.email
