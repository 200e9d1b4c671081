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


# The URL namespaces of each layer, lowest first, and the templates each layer renders.
URL_LAYERS = [
    ("staff", "audit"),
    ("patients",),
    ("messaging",),
    ("journeys",),
    ("feedback", "feedback_staff", "kiosk", "improvements"),
]
TEMPLATE_LAYERS = {
    "": 0,  # base.html and the shared partials
    "staff": 0,
    "audit": 0,
    "patients": 1,
    "messaging": 2,
}


def test_no_template_of_a_lower_layer_names_a_page_of_a_higher_one():
    """A URL name in a template ("journeys:timeline") is a coupling import-linter can't
    see: a lower layer's pages link upwards only through what the higher app registers
    (navigation, home cards, card links)."""
    import re

    url = re.compile(r"{% url ['\"]([a-z_]+):")
    upward = []
    for folder, layer in TEMPLATE_LAYERS.items():
        directory = ROOT / "templates" / folder
        files = directory.glob("*.html") if not folder else directory.rglob("*.html")
        higher = {ns for names in URL_LAYERS[layer + 1 :] for ns in names} | {"metrics"}
        for path in files:
            for namespace in url.findall(path.read_text()):
                if namespace in higher:
                    upward.append(f"{path.relative_to(ROOT)}: {namespace}")
    assert upward == []
