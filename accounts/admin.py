"""Admin for people, organisations and invitations."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Invitation, Organisation, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        # Logins compare lower-cased addresses (see UserManager); store them the same way.
        return User.objects.normalize_email(self.cleaned_data["email"]).strip().lower()


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "organisation", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "organisation__kind")
    list_select_related = ("organisation",)
    search_fields = ("email", "full_name", "organisation__name")
    autocomplete_fields = ("organisation",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "organisation", "time_zone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind", "country_code")
    list_filter = ("kind",)
    search_fields = ("name", "short_name", "country_code")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "consultation",
        "organisation",
        "role",
        "is_focal_point",
        "created_at",
        "expires_at",
        "accepted_at",
    )
    list_filter = ("role", "consultation")
    list_select_related = ("consultation", "organisation")
    search_fields = ("email", "organisation__name", "consultation__title")
    # Invitations are made on the consultation's participants page, through the service that
    # checks the organisation and role and audits it. Here an admin can only extend or resend one.
    fields = (
        "email",
        "consultation",
        "organisation",
        "role",
        "is_focal_point",
        "token",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )
    readonly_fields = (
        "email",
        "consultation",
        "organisation",
        "role",
        "is_focal_point",
        "token",
        "invited_by",
        "created_at",
        "accepted_at",
        "accepted_by",
    )
    date_hierarchy = "created_at"
    actions = ["resend_invitation"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Resend the invitation e-mail"))
    def resend_invitation(self, request, queryset):
        pending = services.invitation_resend(invitation_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - len(pending)
        if pending:
            self.message_user(
                request,
                ngettext(
                    "%(count)d invitation queued for sending.",
                    "%(count)d invitations queued for sending.",
                    len(pending),
                )
                % {"count": len(pending)},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d invitation was already accepted and was not sent.",
                    "%(count)d invitations were already accepted and were not sent.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
