"""Every schema of the API has its own name: the OpenAPI document names its components by class name,
so two classes of one name (a person in the registry and a person in a verification) collapse into
one component, and the document and the fuzz test then hold one endpoint to the other's schema."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from ninja import Schema

import minzheng.api


def test_no_two_schemas_share_a_name() -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for module_info in pkgutil.iter_modules(minzheng.api.__path__):
        if module_info.name == "tests":
            continue
        module = importlib.import_module(f"minzheng.api.{module_info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module.__name__:
                found[name].add(module.__name__)
    assert {name: sorted(where) for name, where in found.items() if len(where) > 1} == {}
