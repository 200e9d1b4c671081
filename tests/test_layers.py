"""The layers contract (pyproject.toml, checked by lint-imports in `make lint`) names every
module of the project: a module left out of it would be free to import any layer."""

import pkgutil
import tomllib
from pathlib import Path

import clinic_crm

ROOT = Path(__file__).resolve().parent.parent


def _contract() -> tuple[list[str], set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [layers] = [c for c in config["contracts"] if c["type"] == "layers"]
    named = {m.strip() for layer in layers["layers"] for m in layer.replace("|", ":").split(":")}
    return config["root_packages"], named


def test_every_module_of_the_core_package_is_in_a_layer():
    _, named = _contract()
    modules = {f"clinic_crm.{m.name}" for m in pkgutil.iter_modules(clinic_crm.__path__)}
    assert modules - named == set(), "add them to a layer in pyproject.toml"


def test_every_root_package_is_in_a_layer():
    roots, named = _contract()
    assert set(roots) - {"clinic_crm"} <= named
    assert "clinic_crm" in roots
