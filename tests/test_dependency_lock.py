"""The lock (requirements/base.txt, requirements/test.txt) agrees with pyproject.toml.

pyproject.toml holds the ranges; `make lock` turns them into exact versions with hashes,
which `make run`, `make test` and the Dockerfile install. Edit a range and forget the lock,
and these tests say which requirement the lock no longer satisfies."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements/base.txt", "requirements/test.txt")
# What the lock is made for (`make lock`: --python-version 3.11 --python-platform linux).
TARGET = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "extra": "",
}
HASH = re.compile(r"\s--hash=(\w+):(\w+)")
PROJECT_VIA = "(pyproject.toml)"


@dataclass
class Pin:
    version: Version
    hashes: list[str]
    via: set[str] = field(default_factory=set)


def read_lock(path: Path) -> tuple[dict[str, Pin], list[str]]:
    """The pins of a requirements file written by `uv pip compile --generate-hashes`, and
    what is wrong with its lines (not an exact pin, no hash, a duplicate)."""
    pins: dict[str, Pin] = {}
    problems: list[str] = []
    last: Pin | None = None
    in_via = False
    entry = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#"):
            # uv's annotations: "# via kombu" or "# via" then "#   kombu" lines.
            comment = line.lstrip("#").strip()
            if last is not None and (comment == "via" or comment.startswith("via ")):
                in_via = True
                comment = comment[len("via") :].strip()
            if last is not None and in_via and comment:
                last.via.add(comment)
            continue
        in_via = False
        entry += " " + line.removesuffix("\\")
        if line.endswith("\\"):
            continue
        entry, text = "", entry.strip()
        if not text:
            continue
        last = None
        hashes = [f"{algo}:{digest}" for algo, digest in HASH.findall(" " + text)]
        spec = HASH.sub("", " " + text).strip()
        where = f"{path.name}: {spec!r}"
        if spec.startswith("-"):
            problems.append(f"{where}: an option or editable install, not a pinned requirement")
            continue
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as error:
            problems.append(f"{where}: {error}")
            continue
        specifiers = list(requirement.specifier)
        if requirement.url or len(specifiers) != 1 or specifiers[0].operator != "==":
            problems.append(f"{where}: not pinned to one exact version with ==")
            continue
        if "*" in specifiers[0].version:
            problems.append(f"{where}: a wildcard is not an exact version")
            continue
        if not any(h.startswith("sha256:") for h in hashes):
            problems.append(f"{where}: no --hash=sha256:... (pip's --require-hashes refuses it)")
        name = canonicalize_name(requirement.name)
        if name in pins:
            problems.append(f"{where}: {name} is pinned twice")
        last = pins[name] = Pin(Version(specifiers[0].version), hashes)
    return pins, problems


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(TARGET)


def lock_problems(root: Path) -> list[str]:
    """Everything on which requirements/*.txt under ``root`` disagree with its pyproject.toml."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    own_name = canonicalize_name(project["name"])
    runtime = [Requirement(r) for r in project.get("dependencies", [])]
    test_extra = [Requirement(r) for r in project.get("optional-dependencies", {}).get("test", [])]
    base, problems = read_lock(root / LOCKS[0])
    test, test_problems = read_lock(root / LOCKS[1])
    problems += test_problems

    for lock_name, pins, wanted in (
        (LOCKS[0], base, runtime),
        (LOCKS[1], test, runtime + test_extra),
    ):
        if own_name in pins:
            problems.append(f"{lock_name}: the project itself ({own_name}) is in the lock")
        direct = {canonicalize_name(r.name) for r in wanted}
        for requirement in wanted:
            name = canonicalize_name(requirement.name)
            if name == own_name or not applies(requirement):
                continue
            pin = pins.get(name)
            if pin is None:
                problems.append(f"{lock_name}: {requirement} is not in the lock")
            elif not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{lock_name}: {name}=={pin.version} is outside {requirement}")
        for name, pin in pins.items():
            # Left over: the lock says pyproject asks for it, but pyproject no longer does.
            if name not in direct and any(v.endswith(PROJECT_VIA) for v in pin.via):
                problems.append(f"{lock_name}: {name} is no longer required by pyproject.toml")

    for name, pin in base.items():
        if name not in test:
            problems.append(f"{LOCKS[1]}: {name} (in {LOCKS[0]}) is missing")
        elif test[name].version != pin.version:
            problems.append(
                f"{LOCKS[1]}: {name}=={test[name].version} but {LOCKS[0]} pins {pin.version}"
            )
    return problems


def test_the_lock_satisfies_pyproject_and_pins_every_package_with_hashes():
    assert lock_problems(ROOT) == [], "run `make lock` after changing pyproject.toml"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _narrower_django(root: Path) -> None:
    _replace(root / "pyproject.toml", '"Django>=5.2,<5.3"', '"Django>=5.3,<5.4"')


def _new_runtime_dependency(root: Path) -> None:
    _replace(root / "pyproject.toml", '"httpx>=0.27,<1",', '"httpx>=0.27,<1",\n    "requests>=2",')


def _dropped_test_dependency(root: Path) -> None:
    _replace(root / "pyproject.toml", '"factory-boy>=3.3,<4",', "")


def _test_pins_another_version(root: Path) -> None:
    pins, _ = read_lock(root / LOCKS[1])
    version = str(pins["django"].version)
    _replace(root / LOCKS[1], f"django=={version} ", f"django=={version}.1 ")


def _a_pin_without_hashes(root: Path) -> None:
    path = root / LOCKS[0]
    path.write_text(path.read_text() + "extra-package==1.0\n")


def _a_range_instead_of_a_pin(root: Path) -> None:
    path = root / LOCKS[0]
    hashed = "extra-package>=1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    path.write_text(path.read_text() + hashed)


def _the_project_locked(root: Path) -> None:
    path = root / LOCKS[1]
    path.write_text(path.read_text() + "-e .\n")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_narrower_django, "django==5.2."),
        (_new_runtime_dependency, "requests>=2 is not in the lock"),
        (_dropped_test_dependency, "factory-boy is no longer required"),
        (_test_pins_another_version, "but requirements/base.txt pins"),
        (_a_pin_without_hashes, "no --hash"),
        (_a_range_instead_of_a_pin, "not pinned to one exact version"),
        (_the_project_locked, "editable install"),
    ],
)
def test_the_check_fails_when_pyproject_and_the_lock_disagree(tmp_path, edit, expected):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    assert lock_problems(tmp_path) == []
    edit(tmp_path)
    problems = lock_problems(tmp_path)
    assert any(expected in problem for problem in problems), problems
