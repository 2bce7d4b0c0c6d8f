"""Tests for rltutorial.sweep.make_client: argument checks and the Kubernetes path."""

from __future__ import annotations

import sys

import pytest
import yaml

from rltutorial.sweep import make_client

# --- make_client ------------------------------------------------------------------


def test_make_client_argument_errors():
    """Conflicting arguments are rejected before connecting anywhere."""
    with pytest.raises(ValueError, match="either address= or kubernetes="):
        make_client("tcp://127.0.0.1:1", kubernetes=True)
    with pytest.raises(ValueError, match="only apply to clusters that make_client"):
        make_client("tcp://127.0.0.1:1", n_workers=3)


def test_make_client_kubernetes_needs_dask_kubernetes(monkeypatch):
    """Without dask-kubernetes, kubernetes= raises ImportError with the pip hint."""
    monkeypatch.setitem(sys.modules, "dask_kubernetes", None)
    monkeypatch.setitem(sys.modules, "dask_kubernetes.operator", None)
    with pytest.raises(ImportError, match="pip install dask-kubernetes"):
        make_client(kubernetes=True)


class _FakeKubeCluster:
    """Stands in for dask_kubernetes.operator.KubeCluster and records its use."""

    instances: list = []

    def __init__(self, **kwargs):
        self.kwargs, self.scaled = kwargs, None
        _FakeKubeCluster.instances.append(self)

    def scale(self, n):
        self.scaled = n


def _fake_make_cluster_spec(**kwargs):
    """Stands in for make_cluster_spec: its arguments, and upstream's scheduler args."""
    scheduler = {"args": ["dask-scheduler", "--host", "0.0.0.0"]}
    return {
        "arguments": kwargs,
        "spec": {"scheduler": {"spec": {"containers": [scheduler]}}},
    }


@pytest.fixture
def fake_kubernetes(monkeypatch):
    """Fake dask_kubernetes.operator and distributed.Client; returns the instances."""
    import types

    import distributed

    module = types.ModuleType("dask_kubernetes.operator")
    module.KubeCluster = _FakeKubeCluster
    module.make_cluster_spec = _fake_make_cluster_spec
    monkeypatch.setitem(
        sys.modules, "dask_kubernetes", types.ModuleType("dask_kubernetes")
    )
    monkeypatch.setitem(sys.modules, "dask_kubernetes.operator", module)
    monkeypatch.setattr(
        distributed, "Client", lambda cluster, timeout: ("client", cluster)
    )
    _FakeKubeCluster.instances = []
    return _FakeKubeCluster.instances


def test_make_client_kubernetes_manifest_and_kwargs(fake_kubernetes, tmp_path):
    """A manifest (dict or YAML file) becomes custom_cluster_spec; a dict kwargs."""
    manifest = {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster"}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(manifest))
    _, cluster = make_client(kubernetes=path, n_workers=4)
    assert cluster.kwargs == {"custom_cluster_spec": manifest} and cluster.scaled == 4
    _, cluster = make_client(kubernetes={"name": "sweep", "image": "img:1"})
    spec = cluster.kwargs.pop("custom_cluster_spec")
    assert cluster.kwargs == {}
    arguments = spec["arguments"]
    assert arguments["name"] == "sweep" and arguments["image"] == "img:1"
    assert arguments["worker_command"] == ["dask", "worker", "--nthreads", "1"]
    [scheduler] = spec["spec"]["scheduler"]["spec"]["containers"]
    assert scheduler["args"] == ["dask", "scheduler", "--host", "0.0.0.0"]
    with pytest.raises(ValueError, match="kubernetes=3"):
        make_client(kubernetes=3)
