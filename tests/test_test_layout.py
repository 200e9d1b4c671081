"""The layout of the tests themselves: builders and helpers that several test modules share
live in factories, helpers and conftest modules, never in another ``test_*.py`` module
(importing one runs its module-level code and makes pytest's view of it depend on the
importer)."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    return dotted.rsplit(".", 1)[-1].startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    """``line: what`` for each import in ``path`` that reaches into a ``test_*`` module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}" for a in node.names if _is_test_module(a.name)
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [a.name for a in node.names]
            if _is_test_module(module) or any(_is_test_module(name) for name in names):
                found.append(f"{node.lineno}: from {'.' * node.level}{module} import {names}")
    return found


def test_no_test_module_imports_from_another_test_module():
    offenders = {
        str(path.relative_to(TESTS.parent)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imports_of_test_modules(path))
    }
    assert offenders == {}, (
        "move shared builders to a factories module (tests/<app>/factories.py), other "
        "helpers to tests/helpers.py, and fixtures to the nearest conftest.py"
    )


def test_the_guard_sees_such_an_import(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "import os\n"
        "from tests.journeys.test_visit_completion import accepted_plan\n"
        "def test_it():\n"
        "    from tests import test_access\n"
        "    from .test_other import helper\n"
        "    from tests.journeys.factories import accepted_plan\n"
    )
    assert imports_of_test_modules(module) == [
        "2: from tests.journeys.test_visit_completion import ['accepted_plan']",
        "4: from tests import ['test_access']",
        "5: from .test_other import ['helper']",
    ]
