"""Imports point one way: cicl_assets <- jobs <- sensors <- definitions <- scripts.

The demo generator is a tool beside the product: it may import the product, the product never
imports it, and the package the image installs holds none of it.
"""

import ast
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCT = {"demo", "tests", "benchmarks"}

# Each layer of the product, with the top-level packages it must never import.
LAYERS = {
    "cicl_assets": {"jobs", "sensors", "definitions", "scripts", *NOT_PRODUCT},
    "jobs": {"sensors", "definitions", "scripts", *NOT_PRODUCT},
    "sensors": {"definitions", "scripts", *NOT_PRODUCT},
    "definitions.py": {"scripts", *NOT_PRODUCT},
    "scripts": NOT_PRODUCT,
}
DYNAMIC_IMPORTS = {"import_module", "__import__"}


def imported_roots(source: str) -> set[str]:
    """Top-level names of every module `source` imports, wherever the import statement sits
    (functions, `if TYPE_CHECKING:`), including importlib.import_module / __import__ of a
    constant name. Relative imports stay inside their package and are left out."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and not first.value.startswith("."):
                    roots.add(first.value.split(".")[0])
    return roots


def layer_modules(layer: str) -> list[Path]:
    path = ROOT / layer
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


@pytest.mark.parametrize(
    ("source", "roots"),
    [
        ("import demo", {"demo"}),
        ("import demo.story as story", {"demo"}),
        ("from demo import story", {"demo"}),
        ("from demo.generate import generate", {"demo"}),
        ("import os, demo.otlp_json", {"os", "demo"}),
        ("def f():\n    from demo import story\n", {"demo"}),
        ("if TYPE_CHECKING:\n    import demo\n", {"demo"}),
        ("import importlib\nimportlib.import_module('demo.story')", {"importlib", "demo"}),
        ("from importlib import import_module\nimport_module('demo')", {"importlib", "demo"}),
        ("__import__('demo.generate')", {"demo"}),
        ("import_module(name)", set()),
        ("import_module('.story', 'demo')", set()),
        ("import demographics", {"demographics"}),
        ("from cicl_assets.demo_like import x", {"cicl_assets"}),
        ("from . import story", set()),
        ("from .demo import story", set()),
        ("x = 'import demo'", set()),
    ],
)
def test_imported_roots(source: str, roots: set[str]) -> None:
    assert imported_roots(source) == roots


def test_every_layer_is_walked() -> None:
    walked = {p.relative_to(ROOT).as_posix() for layer in LAYERS for p in layer_modules(layer)}
    known = {
        "cicl_assets/learning/breach.py",
        "jobs/learning.py",
        "sensors/slo_breach.py",
        "sensors/in_process.py",
        "definitions.py",
        "scripts/cicl.py",
    }
    assert known <= walked
    assert not any(p.startswith("demo/") for p in walked)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_no_module_imports_against_the_direction(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {root}"
        for path in layer_modules(layer)
        for root in sorted(imported_roots(path.read_text()) & LAYERS[layer])
    ]
    assert wrong == []


def test_the_installed_package_holds_no_demo_code() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    config = pyproject["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(
        where=str(ROOT), include=config.get("include", ["*"]), exclude=config.get("exclude", ())
    )
    assert {name.split(".")[0] for name in packages} == {"cicl_assets", "jobs", "sensors"}
    assert "cicl_assets.learning" in packages
