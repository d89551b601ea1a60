"""The invitation link, under /me/invitations/ where the e-mails already sent point."""

from django.urls import path

from .views import invitations

app_name = "invitations"

urlpatterns = [
    path("<str:token>/", invitations.invitation_accept, name="accept"),
]
