"""Admin for people and organisations (invitations are consultations')."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from audit.services import audit_changes, audit_log

from .models import Organisation, User


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
    # Plain selects: Django's autocomplete box (select2) and two-pane filter (SelectFilter2) give
    # screen readers an unnamed combobox and misused aria-labels (axe-core: serious).
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "organisation", "time_zone", "language", "email_frequency")}),
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

    # Privileges and identity: every change to these is an audit entry with its before and after.
    @staticmethod
    def _privileges(user: User) -> dict:
        return {
            "email": user.email,
            "organisation": user.organisation.name if user.organisation else None,
            "is_active": user.is_active,
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
            "groups": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
            "user_permissions": sorted(
                f"{app}.{codename}"
                for app, codename in user.user_permissions.values_list("content_type__app_label", "codename")
            )
            if user.pk
            else [],
        }

    def save_model(self, request, obj, form, change):
        # The state before, read from the database: the form has already changed `obj`.
        form._audit_before = self._privileges(User.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # groups and permissions are saved here
        user = form.instance
        after = self._privileges(user)
        if change:
            audit_changes(
                actor=request.user,
                action="user.changed",
                target=user,
                before=form._audit_before,
                after=after,
                data={"user": user.email},
            )
        else:
            audit_log(actor=request.user, action="user.created", target=user, data=after)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            audit_log(actor=request.user, action="user.password_set", target=user, data={"user": user.email})
        return response

    def _audit_deletion(self, request, obj) -> None:
        audit_log(
            actor=request.user, action="user.deleted", target=obj, data={**self._privileges(obj), "user": obj.email}
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("organisation"):
            self._audit_deletion(request, obj)
        super().delete_queryset(request, queryset)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind", "country_code")
    list_filter = ("kind",)
    search_fields = ("name", "short_name", "country_code")

    def save_model(self, request, obj, form, change):
        fields = ["name", "short_name", "kind", "country_code"]
        before = dict(Organisation.objects.filter(pk=obj.pk).values(*fields).first() or {}) if change else {}
        super().save_model(request, obj, form, change)
        after = {name: getattr(obj, name) for name in fields}
        if change:
            audit_changes(actor=request.user, action="organisation.changed", target=obj, before=before, after=after)
        else:
            audit_log(actor=request.user, action="organisation.created", target=obj, data=after)


# Django's groups, with a plain select of permissions (see UserAdmin.filter_horizontal).
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    filter_horizontal = ()
