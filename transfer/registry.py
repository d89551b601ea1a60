"""Which tables travel with a consultation, how their rows are chosen, and which stay behind.

The list is explicit so that nothing leaves the site by accident; the fields of each model are
not (services.py reads them from the model), so a new field travels without a change here. A
test fails when a model of the project, or any model that points at a carried one, is in
neither CARRIED nor EXCLUDED.

Order is dependency order (what is referred to comes first); rows of each model go out by
primary key. Many-to-many tables created by Django follow their owner automatically.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Carried:
    label: str
    # How the rows are chosen, exactly one of:
    # - consultation: a lookup from the model to the consultation's pk ("round__consultation");
    # - referenced: every row that a carried row points at (organisations, users);
    # - user: a lookup from the model to a carried user (their e-mail addresses, MFA keys).
    consultation: str = ""
    referenced: bool = False
    user: str = ""
    # Many-to-many fields not carried: the export refuses when a carried row has any, so that
    # nothing is dropped without the operator knowing.
    refused_m2m: tuple[str, ...] = field(default=())


# Models that moved to another app since an export may have been made: a file that names the old
# label still imports (its rows go to the same table under the new name). Issue 9 moved these.
MOVED: dict[str, str] = {
    "accounts.invitation": "consultations.invitation",
    "comments.disposition": "consolidation.disposition",
}


CARRIED: tuple[Carried, ...] = (
    Carried("accounts.organisation", referenced=True),
    Carried("accounts.user", referenced=True, refused_m2m=("groups", "user_permissions")),
    # Logins keep working after a migration: verified addresses and MFA authenticators travel.
    Carried("account.emailaddress", user="user"),
    Carried("mfa.authenticator", user="user"),
    Carried("consultations.consultation", consultation="pk"),
    Carried("consultations.phase", consultation="consultation"),
    Carried("consultations.participation", consultation="consultation"),
    Carried("consultations.draftversion", consultation="consultation"),
    Carried("consultations.section", consultation="version__consultation"),
    Carried("consultations.engagementround", consultation="consultation"),
    Carried("consultations.roundextension", consultation="round__consultation"),
    Carried("consultations.roundnotice", consultation="round__consultation"),
    Carried("consultations.roundreminder", consultation="round__consultation"),
    Carried("consultations.invitation", consultation="consultation"),
    Carried("comments.comment", consultation="round__consultation"),
    Carried("comments.commentrevision", consultation="comment__round__consultation"),
    Carried("comments.reply", consultation="comment__round__consultation"),
    Carried("comments.commentflag", consultation="comment__round__consultation"),
    Carried("comments.commentsupport", consultation="comment__round__consultation"),
    Carried("comments.commentreturn", consultation="comment__round__consultation"),
    Carried("comments.nationalposition", consultation="round__consultation"),
    Carried("consolidation.disposition", consultation="comment__round__consultation"),
    Carried("consolidation.commentassignment", consultation="comment__round__consultation"),
    Carried("consolidation.consolidationrun", consultation="round__consultation"),
    Carried("consolidation.consolidationlisting", consultation="run__round__consultation"),
    Carried("consolidation.duplicategroup", consultation="run__round__consultation"),
    Carried("consolidation.duplicategroupmember", consultation="duplicategroup__run__round__consultation"),
    Carried("consolidation.carriedanchor", consultation="comment__round__consultation"),
    Carried("consolidation.report", consultation="consultation"),
    Carried("consolidation.importjob", consultation="round__consultation"),
    Carried("consolidation.carryoverjob", consultation="version__consultation"),
    # Each person's inbox about the consultation (issue 12; before it, comments.replynotice,
    # which a file made earlier still names: such a file imports with the version that made it).
    Carried("notifications.notification", consultation="consultation"),
    Carried("audit.auditentry", consultation="consultation"),
)

EXCLUDED: dict[str, str] = {
    "accounts.user_groups": "Rights come from participations and the site admin flags; refused if a user has any.",
    "accounts.user_user_permissions": "As for groups: refused at export if a carried user has any.",
    "account.emailconfirmation": "Pending e-mail confirmation keys; short-lived, sent again on request.",
    "admin.logentry": "The admin site's own log, keyed by one site's content-type ids; the audit log is the record.",
    "sessions.session": "Logins are not carried: everyone signs in again on the restored site.",
    "auth.permission": "Site-wide, created by migrate.",
    "auth.group": "Site-wide; not used by the platform.",
    "auth.group_permissions": "Site-wide; not used by the platform.",
    "contenttypes.contenttype": "Site-wide, created by migrate.",
    "consolidation.commentcount": "Derived: PostgreSQL triggers count the imported comments and dispositions.",
    "consolidation.consolidationchunk": "A consolidation run's working parts; its snapshot is carried, "
    "and the next run computes them again.",
    "consolidation.groupingstate": "Derived: what an incremental consolidation starts from; the next run on the "
    "restored site is full and keeps it again.",
    "consolidation.groupingtext": "Derived, with its grouping state.",
    "consolidation.groupingpair": "Derived, with its grouping state.",
}
