"""Only the settings layer reads the environment; every other module gets settings as
arguments or resource fields."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cicl_assets.settings import VARIABLES

REPO = Path(__file__).resolve().parents[2]
SETTINGS = REPO / "cicl_assets" / "settings.py"
# The product: what the code location imports and the command line that runs it. The demo
# generator is a tool beside the product, with its own command line.
PRODUCT = ("cicl_assets", "jobs", "sensors", "definitions.py", "scripts")
NOT_PRODUCT = (REPO / "cicl_assets" / "demo",)
ENV_FUNCTIONS = {"getenv", "getenvb", "putenv", "unsetenv"}
ENV_MAPPINGS = {"environ", "environb"}


def product_files() -> list[Path]:
    files: list[Path] = []
    for entry in PRODUCT:
        path = REPO / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if not any(f.is_relative_to(p) for p in NOT_PRODUCT)]


def environment_reads(source: str) -> list[str]:
    """Each place ``source`` touches the process environment, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ENV_MAPPINGS | ENV_FUNCTIONS:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            names = {a.name for a in node.names} & (ENV_MAPPINGS | ENV_FUNCTIONS)
            found += [f"{node.lineno}: from {node.module} import {n}" for n in sorted(names)]
        elif isinstance(node, ast.Call) and _called(node) == "EnvVar":
            # Dagster reads an EnvVar when a run starts: only for a variable settings declare.
            name = (
                node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            )
            if name not in VARIABLES:
                found.append(f"{node.lineno}: EnvVar({name!r}) of no declared setting")
    return found


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return node.func.id if isinstance(node.func, ast.Name) else None


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("import os\nx = os.environ.get('A')", ["2: .environ"]),
        ("import os\nx = os.getenv('A')", ["2: .getenv"]),
        ("from os import environ, path", ["1: from os import environ"]),
        ("from os import getenv as g", ["1: from os import getenv"]),
        ("import os\nos.environ['A'] = '1'", ["2: .environ"]),
        ("import dagster as dg\nk = dg.EnvVar('AWS_SECRET')", ["2: EnvVar('AWS_SECRET') of no declared setting"]),
        ("import dagster as dg\nk = dg.EnvVar('CICL_BQ_CREDENTIALS')", []),
        ("import os\np = os.path.join('a', 'b')\nos.walk('.')", []),
    ],
)  # fmt: skip
def test_the_scan_finds_environment_reads(source, reads):
    assert environment_reads(source) == reads


def test_only_the_settings_layer_reads_the_environment():
    files = product_files()
    assert SETTINGS in files and REPO / "definitions.py" in files
    assert len(files) > 50  # the walk reached the packages
    offenders = {
        str(f.relative_to(REPO)): reads
        for f in files
        if f != SETTINGS and (reads := environment_reads(f.read_text()))
    }
    assert offenders == {}
    assert environment_reads(SETTINGS.read_text())  # and it does read it
