"""How the test kit is laid out, so that it stays one kit as it grows.

- Test modules share code through tests/factories.py, tests/helpers/ and conftest fixtures;
  none imports from a test module (test_*.py) or from a conftest.py.
- A test that needs a tool or service says so with a marker (tests/conftest.py), or calls
  tests.helpers.services.require from a fixture: both fail under CI=true instead of skipping.
  No other pytest.skip / skipif / importorskip.
- One autouse fixture empties the cache, in tests/conftest.py.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SKIPPERS = {"skip", "skipif", "importorskip"}
# Where a skip may be decided: the marker mechanism and its one-test counterpart.
SKIPS_ALLOWED_IN = {TESTS / "conftest.py", TESTS / "helpers" / "services.py"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), filename=str(path))) for path in sorted(TESTS.rglob("*.py"))]


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _is_test_or_conftest(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts[1:])


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(TESTS.parent)}:{line}"


def test_no_test_module_imports_from_another_test_module_or_a_conftest():
    offending = sorted(
        {
            f"{_where(path, line)} imports {dotted}"
            for path, tree in _modules()
            for line, dotted in _imported_modules(tree)
            if _is_test_or_conftest(dotted)
        }
    )
    assert not offending, "Move shared code to tests/helpers/ or a conftest fixture:\n" + "\n".join(offending)


def _attribute_chain(node: ast.AST) -> list[str]:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


def test_skips_go_through_the_markers_so_that_ci_fails_instead():
    offending = []
    for path, tree in _modules():
        if path in SKIPS_ALLOWED_IN or path == Path(__file__).resolve():
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            chain = _attribute_chain(node)
            if chain[:1] == ["pytest"] and chain[-1] in SKIPPERS:
                offending.append(f"{_where(path, node.lineno)} uses {'.'.join(chain)}")
    assert not offending, (
        "Mark the test with the tool it needs (tests/conftest.py) or call "
        "tests.helpers.services.require:\n" + "\n".join(offending)
    )


def _is_autouse_fixture(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _attribute_chain(decorator.func)[-1:] == ["fixture"]:
            if any(k.arg == "autouse" and getattr(k.value, "value", False) is True for k in decorator.keywords):
                return True
    return False


def test_one_autouse_fixture_empties_the_cache():
    clearing = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and _is_autouse_fixture(node):
                chains = [_attribute_chain(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)]
                if any(chain[-2:] == ["cache", "clear"] for chain in chains):
                    clearing.append(f"{_where(path, node.lineno)} {node.name}")
    assert len(clearing) == 1 and clearing[0].startswith("tests/conftest.py:"), clearing
