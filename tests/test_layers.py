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


def _layer_of(module: str, layers: list[list[str]]) -> int:
    """The layer's position from the top (0: the composition root) of a module, by the
    longest name of the contract it falls under."""
    best, position = "", -1
    for index, names in enumerate(layers):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, position = name, index
    assert position >= 0, f"{module} is in no layer"
    return position


def test_no_model_points_at_a_model_of_a_higher_layer():
    """A foreign key names its target as a string ("journeys.Visit"), which import-linter
    can't see: a lower layer's model pointing up is a coupling all the same."""
    from django.apps import apps

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [contract] = [c for c in config["contracts"] if c["type"] == "layers"]
    layers = [
        [m.strip() for m in layer.replace("|", ":").split(":")] for layer in contract["layers"]
    ]
    roots = tuple(config["root_packages"])
    upward = []
    for model in apps.get_models():
        if not model.__module__.startswith(roots):
            continue
        here = _layer_of(model.__module__, layers)
        for field in model._meta.get_fields():
            forward = field.is_relation and not field.auto_created  # not a reverse relation
            target = field.related_model if forward else None
            if target is None or not target.__module__.startswith(roots):
                continue
            if _layer_of(target.__module__, layers) < here:
                upward.append(f"{model._meta.label}.{field.name} -> {target._meta.label}")
    assert upward == []
