"""Shared test set-up: make ``tests/`` importable for helper modules; shared fixtures
(a test module's own fixture of the same name takes precedence)."""

import gc
import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def local_client():
    """A LocalCluster with two single-threaded worker processes (one per test module)."""
    from rltutorial.sweep import make_client

    client = make_client(n_workers=2, dashboard_address=":0")
    client.run(importlib.import_module, "rltutorial.sweep.execution")  # warm up
    yield client
    client.close()
    gc.collect()  # abandoned asyncio tasks log now, not during a later ast.parse


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Models, runs and recordings under tmp_path (the only zoo searched)."""
    from hostile_inputs import use_folders

    return use_folders(tmp_path, monkeypatch)


@pytest.fixture
def zoo(folders):
    """A zoo holding one untrained agent, 'Betty Gordon'."""
    from rltutorial.agents import Agent

    Agent.untrained(name="Betty Gordon").save()
    return folders
