"""The layout holds: models point down the layers, the import contract covers every package, and
tests share helpers through ordinary modules only.

Layers, bottom first: core; catalog | customers; inventory; orders; channels | storefront | store;
reports; config; demo. Django's own apps and third-party apps sit below core.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parent.parent

LAYER = {
    "core": 0,
    "catalog": 1,
    "customers": 1,
    "inventory": 2,
    "orders": 3,
    "channels": 4,
    "storefront": 4,
    "store": 4,
    "reports": 5,
    "project": 6,  # config's app label
    "demo": 7,
}
LABEL_PACKAGE = {"project": "config"}


def _layer(app_label: str) -> int:
    """Apps outside the project (Django's, third parties') are below every layer."""
    return LAYER.get(app_label, -1)


def _forward_relations() -> list[tuple[str, str, str]]:
    """(model, field, related app label) for every FK, one-to-one and many-to-many a project
    model declares. Reverse relations (``related_objects``, used by customer merges) are not
    declarations and are not listed."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in LAYER:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            if isinstance(field, models.ForeignObjectRel):
                continue
            if field.related_model == "self" or isinstance(field.related_model, str):
                continue
            related = field.related_model
            found.append((model._meta.label, field.name, related._meta.app_label))
    return found


def test_the_walk_sees_the_relations_that_cross_layers() -> None:
    relations = _forward_relations()
    # sanity: the walk is not empty and sees known downward relations
    assert ("catalog.Price", "channel", "core") in relations
    assert ("inventory.ChannelLocation", "location", "inventory") in relations
    assert ("orders.Order", "channel", "core") in relations
    assert len(relations) > 50


def test_every_relation_points_down_the_layers_or_within_its_app() -> None:
    wrong = [
        f"{model}.{field} -> {target} (layer {_layer(target)} from {_layer(model.split('.')[0])})"
        for model, field, target in _forward_relations()
        if target != model.split(".")[0] and _layer(target) >= _layer(model.split(".")[0])
    ]
    assert wrong == []


def test_the_import_contract_names_every_first_party_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    }
    assert set(config["root_packages"]) == packages
    layered = {
        name.strip() for layer in config["contracts"][0]["layers"] for name in layer.split("|")
    }
    assert layered == packages
    # every app of the layer table is a package of the contract (and the other way round)
    assert {LABEL_PACKAGE.get(label, label) for label in LAYER} == packages
    for contract in config["contracts"]:
        assert "ignore_imports" not in contract
        if contract.get("containers"):
            assert contract["exhaustive"] is True


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_test_imports_a_test_module_or_a_conftest() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for name in _imported_modules(path):
            last = name.rsplit(".", 1)[-1]
            if name.startswith("tests") and (last.startswith("test_") or last == "conftest"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/channels/channel/", "/admin/core/channel/"),
        (
            "/admin/channels/channel/7/change/?_changelist_filters=q",
            "/admin/core/channel/7/change/?_changelist_filters=q",
        ),
        ("/admin/api/partner/", "/admin/core/partner/"),
        ("/admin/api/partnerapikey/add/", "/admin/core/partnerapikey/add/"),
        ("/admin/api/idempotencyrecord/", "/admin/core/idempotencyrecord/"),
        ("/admin/outbox/changeevent/", "/admin/core/changeevent/"),
        ("/admin/api/", "/admin/core/"),
    ],
)
def test_old_admin_addresses_of_moved_models_redirect(
    admin_client: object, old: str, new: str
) -> None:
    response = admin_client.get(old)  # type: ignore[attr-defined]
    assert response.status_code == 301
    assert response["Location"] == new


@pytest.mark.django_db
def test_the_other_channels_admin_pages_stay_where_they_were(admin_client: object) -> None:
    assert admin_client.get("/admin/channels/delivery/").status_code == 200  # type: ignore[attr-defined]
    assert admin_client.get("/admin/core/channel/").status_code == 200  # type: ignore[attr-defined]
