from django.urls import path

from .views import audit, manage, reading, versions

app_name = "consultations"

urlpatterns = [
    path("", reading.consultation_list, name="list"),
    path("<slug:slug>/", reading.consultation_detail, name="detail"),
    path("<slug:slug>/versions/<str:number>/", reading.version_read, name="version"),
    # Included before comments.urls, whose section page (comments:section) would take "add" for a key
    path("<slug:slug>/versions/<str:number>/sections/add/", versions.section_add, name="section_add"),
    # Secretariat: consultation windows and participants
    path("<slug:slug>/manage/", manage.manage_overview, name="manage"),
    path("<slug:slug>/rounds/new/", manage.round_create, name="round_create"),
    path("<slug:slug>/rounds/<int:pk>/edit/", manage.round_edit, name="round_edit"),
    path("<slug:slug>/rounds/<int:pk>/open/", manage.round_open, name="round_open"),
    path("<slug:slug>/rounds/<int:pk>/close/", manage.round_close, name="round_close"),
    path("<slug:slug>/rounds/<int:pk>/extend/", manage.round_extend, name="round_extend"),
    path("<slug:slug>/participants/", manage.participants, name="participants"),
    path("<slug:slug>/audit/", audit.audit_list, name="audit"),
    path("<slug:slug>/audit/export.csv", audit.audit_csv, name="audit_csv"),
    # Secretariat and consultants: versions and sections
    path("<slug:slug>/versions/new/upload/", versions.version_upload, name="version_upload"),
    path("<slug:slug>/versions/<str:number>/copy/", versions.version_copy, name="version_copy"),
    path("<slug:slug>/versions/<str:number>/edit/", versions.version_edit, name="version_edit"),
    path("<slug:slug>/versions/<str:number>/publish/", versions.version_publish, name="version_publish"),
    path("<slug:slug>/versions/<str:number>/sections/<str:key>/edit/", versions.section_edit, name="section_edit"),
    path(
        "<slug:slug>/versions/<str:number>/sections/<str:key>/delete/",
        versions.section_delete,
        name="section_delete",
    ),
]
