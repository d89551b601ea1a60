from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("<slug:slug>/audit/", views.audit_list, name="list"),
    path("<slug:slug>/audit/export.csv", views.audit_csv, name="csv"),
]
