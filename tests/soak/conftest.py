"""The clean run the kill-loop modules compare with: one per test session, shared by the
modules (and their xdist workers), which only read its warehouse and output."""

from __future__ import annotations

import pytest

from tests.cicl_runs import succeeded
from tests.conftest import built_once
from tests.soak.harness import Reference, Workspace, load_reference, save_reference


@pytest.fixture(scope="session")
def reference(tmp_path_factory, small_demo_zone, demo_keys) -> Reference:
    def build(folder):
        save_reference(Workspace(folder, small_demo_zone, demo_keys).reference(), folder)

    made = load_reference(built_once(tmp_path_factory, "soak-reference", build))
    succeeded(made.run)
    return made
