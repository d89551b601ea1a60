"""Django admin for consultations: the site admins' back office for consultation windows.

The admin never writes a round, an extension or a section behind the services' back: its forms
run the service in clean() inside a savepoint that is rolled back (so the user sees exactly the
error the service would raise, next to the field), and save_model() then calls the service for
real. Published versions, sections of published versions and notices are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import construct_instance
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.services import audit_changes, audit_log
from config.admin_kit import LabelledInputsMixin, LabelledTabularInline, ReadOnlyAdmin
from config.forms import model_choice_field

from . import services
from .models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Invitation,
    Participation,
    Phase,
    Role,
    RoundExtension,
    RoundNotice,
    RoundReminder,
    Section,
)


def _copy_into(target, source) -> None:
    """Make the admin's unsaved instance the object a service created (pk included)."""
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class ServiceForm(forms.ModelForm):
    """A ModelForm whose clean() dry-runs the service that save_model() will call.

    `actor` is set on the class by ModelAdmin.get_form for each request.
    """

    actor: User | None = None

    def run_service(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.run_service()
                transaction.set_rollback(True)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
            else:
                self.add_error(None, exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or gettext("You are not allowed to do this."))
        return cleaned

    def _post_clean(self):
        # The service has validated the whole change in clean(); the model's own constraint
        # checks would only repeat its errors in less helpful words.
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # BaseModelForm's, absent from django-stubs


class ServiceAdminMixin(LabelledInputsMixin, admin.ModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not issubclass(form, ServiceForm):
            raise ImproperlyConfigured(f"{type(self).__name__} needs a ServiceForm, not {form.__name__}.")
        form.actor = request.user  # modelform_factory builds a new class per call
        return form


# --- consultations ------------------------------------------------------------------------


class PhaseInline(LabelledTabularInline):
    model = Phase
    extra = 0
    fields = ["name", "starts_on", "ends_on", "position"]


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "created_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "created_by"]
    inlines = [PhaseInline]

    audited_fields = ["title", "slug", "description"]

    def _state(self, obj) -> dict:
        return {name: getattr(obj, name) for name in self.audited_fields}

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        before = self._state(Consultation.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        if change:
            audit_changes(
                actor=request.user,
                action="consultation.changed",
                target=obj,
                consultation=obj,
                before=before,
                after=self._state(obj),
            )
        else:
            audit_log(actor=request.user, action="consultation.created", target=obj, consultation=obj)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        consultation = form.instance
        for phase in formset.new_objects:
            audit_log(
                actor=request.user,
                action="phase.created",
                target=phase,
                consultation=consultation,
                data={"name": phase.name},
            )
        for phase, fields in formset.changed_objects:
            audit_log(
                actor=request.user,
                action="phase.changed",
                target=phase,
                consultation=consultation,
                data={"name": phase.name, "fields": sorted(fields)},
            )
        for phase in formset.deleted_objects:
            audit_log(
                actor=request.user,
                action="phase.deleted",
                target=phase,
                consultation=consultation,
                data={"name": phase.name},
            )

    def _audit_deletion(self, request, obj) -> None:
        # Written before the row goes, in the same transaction, at the end of its own chain.
        audit_log(
            actor=request.user,
            action="consultation.deleted",
            target=obj,
            consultation=obj,
            data={"title": obj.title, "slug": obj.slug},
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit_deletion(request, obj)
        super().delete_queryset(request, queryset)


class ParticipationForm(forms.ModelForm):
    class Meta:
        model = Participation
        fields = ["consultation", "user", "organisation", "role", "is_focal_point"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        organisation, role = cleaned.get("organisation"), cleaned.get("role")
        user = cleaned.get("user") or getattr(self.instance, "user", None)
        if organisation and role and role != organisation.kind:
            self.add_error(
                "role",
                gettext("The role must match the organisation: %(org)s is a %(kind)s.")
                % {"org": organisation.name, "kind": organisation.get_kind_display()},
            )
        if cleaned.get("is_focal_point") and role != Role.MEMBER_STATE:
            self.add_error("is_focal_point", gettext("Only a member state delegate can be its focal point."))
        if user and organisation and user.organisation_id and user.organisation_id != organisation.pk:
            self.add_error(
                "organisation",
                gettext("%(email)s belongs to %(org)s; a person acts for one organisation.")
                % {"email": user.email, "org": user.organisation.name},
            )
        return cleaned


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "consultation", "role", "is_focal_point"]
    list_filter = ["consultation", "role", "is_focal_point"]
    search_fields = ["user__email", "user__full_name", "organisation__name"]
    list_select_related = ["user", "organisation", "consultation"]
    form = ParticipationForm
    raw_id_fields = ["user"]
    readonly_fields = ["joined_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "consultation", "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        participation = services.ensure_participation(
            consultation=obj.consultation,
            user=obj.user,
            organisation=obj.organisation,
            role=obj.role,
            is_focal_point=obj.is_focal_point,
            actor=request.user,
        )
        _copy_into(obj, participation)

    def _audit_deletion(self, request, obj) -> None:
        audit_log(
            actor=request.user,
            action="participation.deleted",
            target=obj,
            consultation=obj.consultation,
            data={
                "user": obj.user.email,
                "organisation": obj.organisation.name,
                "role": obj.role,
                "is_focal_point": obj.is_focal_point,
            },
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("user", "organisation", "consultation"):
            self._audit_deletion(request, obj)
        super().delete_queryset(request, queryset)


# --- versions and sections ----------------------------------------------------------------


class SectionInline(admin.TabularInline):
    model = Section
    fields = ("position", "number", "heading", "kind", "key")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DraftVersion)
class DraftVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "number", "status", "published_at"]
    list_filter = ["status", "consultation"]
    list_select_related = ["consultation"]
    inlines = [SectionInline]
    actions = ["publish"]
    # Versions are created by upload or copy (the consultation's version pages), so that
    # section keys carry over; here they can only be looked at, retitled, and published.
    always_readonly = [
        "consultation",
        "number",
        "status",
        "published_at",
        "previous",
        "source_name",
        "created_at",
        "created_by",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return [*self.always_readonly, "title", "change_summary"]
        return self.always_readonly

    @admin.action(description=_("Publish the selected versions"))
    def publish(self, request, queryset):
        for version in queryset.select_related("consultation"):
            try:
                services.version_publish(actor=request.user, version=version)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, _message(version, exc), messages.ERROR)
            else:
                self.message_user(
                    request, gettext("Version %(number)s is published.") % {"number": version.number}, messages.SUCCESS
                )


class SectionForm(ServiceForm):
    class Meta:
        model = Section
        fields = ["number", "heading", "body"]

    def run_service(self):
        return services.section_update(
            actor=self.actor,
            section=self.instance,
            heading=self.cleaned_data["heading"],
            body=self.cleaned_data.get("body", ""),
            number=self.cleaned_data.get("number", ""),
        )


@admin.register(Section)
class SectionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = SectionForm
    list_display = ["__str__", "version", "kind", "position"]
    list_filter = ["version__consultation", "kind"]
    list_select_related = ["version", "version__consultation"]
    search_fields = ["heading", "number", "key"]
    readonly_fields = ["version", "parent", "key", "kind", "position", "depth"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.version.is_published:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        _copy_into(obj, form.run_service())


# --- engagement rounds --------------------------------------------------------------------


class RoundAddForm(ServiceForm):
    commenting_roles = forms.MultipleChoiceField(
        label=_("roles that may comment"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EngagementRound
        fields = ["version", "title", "opens_at", "closes_at", "commenting_roles", "visibility"]

    def run_service(self):
        data = self.cleaned_data
        return services.round_schedule(
            actor=self.actor,
            version=data["version"],
            title=data["title"],
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
            commenting_roles=data["commenting_roles"],
            visibility=data["visibility"],
        )


class RoundChangeForm(ServiceForm):
    class Meta:
        model = EngagementRound
        fields = ["opens_at", "closes_at"]

    def run_service(self):
        return services.round_reschedule(
            actor=self.actor,
            engagement_round=self.instance,
            opens_at=self.cleaned_data["opens_at"],
            closes_at=self.cleaned_data["closes_at"],
        )


class ScheduledRoundChangeForm(RoundChangeForm):
    """A round not yet open: its times and, with checkboxes, the roles that may comment."""

    commenting_roles = forms.MultipleChoiceField(
        label=_("roles that may comment"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EngagementRound
        fields = ["opens_at", "closes_at", "commenting_roles"]

    def run_service(self):
        # Only what changed is asked of the services (and so written to the audit log).
        engagement_round = self.instance
        if {"opens_at", "closes_at"} & set(self.changed_data):
            engagement_round = super().run_service()
        return services.round_set_commenting_roles(
            actor=self.actor, engagement_round=engagement_round, commenting_roles=self.cleaned_data["commenting_roles"]
        )


class RoundExtensionInline(admin.TabularInline):
    model = RoundExtension
    fields = ("organisation", "closes_at", "reason", "granted_by", "granted_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EngagementRound)
class EngagementRoundAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["title", "consultation", "version", "state", "opens_at", "closes_at", "final_closes_at"]
    list_filter = ["state", "consultation"]
    list_select_related = ["consultation", "version"]
    search_fields = ["title"]
    date_hierarchy = "opens_at"
    inlines = [RoundExtensionInline]
    actions = ["open_now", "close_now"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RoundAddForm
        elif obj.state == EngagementRound.State.SCHEDULED:
            kwargs["form"] = ScheduledRoundChangeForm
        else:
            kwargs["form"] = RoundChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return RoundAddForm.Meta.fields
        return [
            "consultation",
            "version",
            "title",
            "state",
            "opens_at",
            "closes_at",
            "planned_closes_at",
            "final_closes_at",
            "commenting_roles" if obj.state == EngagementRound.State.SCHEDULED else "roles",
            "visibility",
            "opened_at",
            "closed_at",
            "created_by",
            "extend_link",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = [
            "consultation",
            "version",
            "title",
            "state",
            "planned_closes_at",
            "final_closes_at",
            "roles",
            "visibility",
            "opened_at",
            "closed_at",
            "created_by",
            "extend_link",
        ]
        if obj.state not in (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN):
            readonly += ["opens_at", "closes_at"]
        return readonly

    @admin.display(description=_("roles that may comment"))
    def roles(self, obj):
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(role, role)) for role in obj.commenting_roles or []) or "—"

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("extensions"))
    def extend_link(self, obj):
        if obj.state not in (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN):
            return "—"
        url = reverse("admin:consultations_roundextension_add") + f"?round={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Extend the deadline for an organisation"))

    def save_model(self, request, obj, form, change):
        _copy_into(obj, form.run_service())

    def _run_action(self, request, queryset, service, done: str) -> None:
        for engagement_round in queryset.select_related("consultation"):
            try:
                service(actor=request.user, engagement_round=engagement_round)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, _message(engagement_round, exc), messages.ERROR)
            else:
                self.message_user(request, done % {"title": engagement_round.title}, messages.SUCCESS)

    @admin.action(description=_("Open now"))
    def open_now(self, request, queryset):
        self._run_action(
            request, queryset, services.round_open_now, gettext("“%(title)s” is open; participants are being e-mailed.")
        )

    @admin.action(description=_("Close now"))
    def close_now(self, request, queryset):
        self._run_action(request, queryset, services.round_close_now, gettext("“%(title)s” is closed."))


def _message(obj, exc) -> str:
    detail = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    return gettext("%(object)s: %(error)s") % {"object": obj, "error": detail}


class RoundExtensionForm(ServiceForm):
    class Meta:
        model = RoundExtension
        fields = ["round", "organisation", "closes_at", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "round" in self.fields:
            model_choice_field(self, "round").queryset = EngagementRound.objects.filter(
                state__in=[EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN]
            ).select_related("consultation")

    def run_service(self):
        data = self.cleaned_data
        return services.round_extend(
            actor=self.actor,
            engagement_round=data.get("round") or self.instance.round,
            organisation=data.get("organisation") or self.instance.organisation,
            closes_at=data["closes_at"],
            reason=data.get("reason", ""),
        )


@admin.register(RoundExtension)
class RoundExtensionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = RoundExtensionForm
    list_display = ["round", "organisation", "closes_at", "granted_by", "granted_at"]
    list_filter = ["round__consultation"]
    list_select_related = ["round", "organisation", "granted_by"]
    readonly_fields = ["granted_by", "granted_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        readonly = [*self.readonly_fields, "round", "organisation"]
        if obj.round.state not in (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN):
            readonly += ["closes_at", "reason"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        _copy_into(obj, form.run_service())


@admin.register(RoundReminder)
class RoundReminderAdmin(ReadOnlyAdmin):
    """Reminders sent from the response tracker: a record, never edited here."""

    list_display = ["round", "organisation", "user", "requested_by", "requested_at", "sent_at"]
    list_filter = ["round__consultation", "organisation"]
    list_select_related = ["round", "organisation", "user", "requested_by"]
    search_fields = ["user__email", "organisation__name"]


@admin.register(RoundNotice)
class RoundNoticeAdmin(admin.ModelAdmin):
    list_display = ["round", "user", "kind", "sent_at"]
    list_filter = ["kind", "round__consultation"]
    list_select_related = ["round", "user"]
    search_fields = ["user__email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- invitations --------------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(LabelledInputsMixin, admin.ModelAdmin):
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
    readonly_fields = tuple(name for name in fields if name != "expires_at")
    date_hierarchy = "created_at"
    actions = ["resend_invitation"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        before = Invitation.objects.filter(pk=obj.pk).values_list("expires_at", flat=True).first()
        super().save_model(request, obj, form, change)
        audit_changes(
            actor=request.user,
            action="invitation.changed",
            target=obj,
            consultation=obj.consultation,
            before={"expires_at": before},
            after={"expires_at": obj.expires_at},
            data={"email": obj.email},
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("consultation"):
            self._audit_deletion(request, obj)
        super().delete_queryset(request, queryset)

    def _audit_deletion(self, request, obj) -> None:
        audit_log(
            actor=request.user,
            action="invitation.deleted",
            target=obj,
            consultation=obj.consultation,
            data={"email": obj.email, "accepted": obj.accepted_at is not None},
        )

    @admin.action(description=_("Resend the invitation e-mail"))
    def resend_invitation(self, request, queryset):
        pending = services.invitation_resend(
            actor=request.user, invitation_ids=list(queryset.values_list("pk", flat=True))
        )
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
