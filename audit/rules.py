"""Who may read a consultation's audit log: its secretariat and the site admins.

Everyone else gets a 404 (pages, API, CSV alike), as for anything they may not see.
"""

import rules

from consultations.rules import is_secretariat, is_site_admin

can_view_audit = is_site_admin | is_secretariat

rules.add_perm("audit.view_audit", can_view_audit)
