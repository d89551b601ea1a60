from django.urls import path

from .views import reading, search, section, thread, tracker

app_name = "comments"

urlpatterns = [
    # A section's page: its text and the comments of the round on its version
    path("<slug:slug>/versions/<str:number>/sections/<str:key>/", reading.section_read, name="section"),
    # Search in a version's text and in the comments the person may see
    path("<slug:slug>/search/", search.search, name="search"),
    # Writing on a section of the version under review
    path("<slug:slug>/rounds/<int:round_id>/sections/<str:key>/comments/", section.comment_create, name="create"),
    path("<slug:slug>/comments/<int:pk>/edit/", section.comment_edit, name="edit"),
    path("<slug:slug>/comments/<int:pk>/submit/", section.comment_submit, name="submit"),
    path("<slug:slug>/comments/<int:pk>/withdraw/", section.comment_withdraw, name="withdraw"),
    # Threads, national positions, moderation
    path("<slug:slug>/comments/<int:pk>/", thread.comment_detail, name="detail"),
    path("<slug:slug>/comments/<int:pk>/replies/", thread.reply_list, name="replies"),
    path("<slug:slug>/comments/<int:pk>/reply/", thread.reply_create, name="reply"),
    path("<slug:slug>/comments/<int:pk>/endorse/", thread.comment_endorse, name="endorse"),
    path("<slug:slug>/comments/<int:pk>/flag/", thread.comment_flag, name="flag"),
    path("<slug:slug>/comments/<int:pk>/return/", thread.comment_return, name="return"),
    path("<slug:slug>/comments/<int:pk>/hide/", thread.comment_hide, name="hide"),
    path("<slug:slug>/comments/<int:pk>/unhide/", thread.comment_unhide, name="unhide"),
    path("<slug:slug>/comments/<int:pk>/resolve/", thread.thread_resolve, name="resolve"),
    path("<slug:slug>/comments/<int:pk>/support/", thread.comment_support, name="support"),
    path("<slug:slug>/rounds/<int:round_id>/mentions/", thread.mention_candidates, name="mentions"),
    path("<slug:slug>/my-delegation/", thread.delegation_comments, name="mine"),
    path("<slug:slug>/rounds/<int:round_id>/position/", thread.national_position, name="position"),
    # The secretariat: who has answered in a round, and reminders to those who have not
    path("<slug:slug>/rounds/<int:round_id>/responses/", tracker.response_tracker, name="tracker"),
]
