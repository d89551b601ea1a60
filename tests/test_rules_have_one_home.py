"""Each permission rule is written once (issue 9): role checks live in the apps' rules.py.

"Organiser", "may comment in this round" and "is the round open for my organisation" were once
written in five places that disagreed. The role rules now live in consultations/rules.py (combined
in comments/rules.py, consolidation/rules.py), the clock in consultations/access.py. This test
reads the source and fails when a view, selector, service, serializer or template compares a
participation's role, looks at is_staff or tests the round's commenting roles itself (templates ask
the rules with {% has_perm %} or read consultations.access.RoundAccess).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "api", "audit", "comments", "config", "consolidation", "consultations", "transfer"]

# Where each rule may be written, and why.
HOMES = {
    "consultations/rules.py": "the role rules",
    "comments/rules.py": "comment permissions built on the role rules",
    "consolidation/rules.py": "consolidation permissions built on the role rules",
    "consultations/access.py": "the round's window for an organisation, and the viewer's access read model",
    "consultations/selectors.py": "commenting_participations: the round's commenting roles as a query",
    "accounts/selectors.py": "who needs two-factor authentication (a login rule, not a consultation rule)",
}

PATTERNS = {
    "role comparison": re.compile(r"\.role\s*(==|!=|\bin\b)"),
    "site admin check": re.compile(r"\bis_staff\b"),
    "commenting roles test": re.compile(r"\bin\s+[\w.]*commenting_roles|commenting_roles\s+or\b"),
    "round window": re.compile(r"\.(is_open_for|closes_at_for)\("),
}
# Not permission checks: the model's own fields and methods, the admin's forms, data migrations.
SKIPPED_PARTS = {"migrations", "models.py", "admin.py"}


def _sources():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if SKIPPED_PARTS & set(path.relative_to(ROOT).parts) or path.name in SKIPPED_PARTS:
                continue
            yield relative, path.read_text(encoding="utf-8")


def _findings():
    found = []
    for relative, text in _sources():
        if relative in HOMES:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for name, pattern in PATTERNS.items():
                if pattern.search(line):
                    found.append(f"{relative}:{number}: {name}: {line.strip()}")
    return found


def test_role_and_window_rules_are_written_only_in_their_homes():
    assert _findings() == [], "A rule is written outside its home (see HOMES in this test):\n" + "\n".join(_findings())


@pytest.mark.parametrize("home", sorted(HOMES))
def test_every_home_exists(home):
    assert (ROOT / home).is_file()
