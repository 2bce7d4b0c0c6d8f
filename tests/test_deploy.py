"""Tests for deploy/: the DaskCluster manifest, the Dockerfile and the TraceWin slot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
REPO = DEPLOY.parent


@pytest.fixture(scope="module")
def manifest() -> dict:
    """deploy/dask-cluster.yaml loaded with yaml.safe_load."""
    return yaml.safe_load((DEPLOY / "dask-cluster.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The text of deploy/Dockerfile."""
    return (DEPLOY / "Dockerfile").read_text()


def _container(spec: dict, name: str) -> dict:
    """The container called ``name`` in a pod spec."""
    [container] = [c for c in spec["containers"] if c["name"] == name]
    return container


def test_manifest_is_a_dask_cluster(manifest):
    """The manifest is a DaskCluster of the dask-kubernetes operator's v1 API."""
    assert manifest["apiVersion"] == "kubernetes.dask.org/v1"
    assert manifest["kind"] == "DaskCluster"
    assert manifest["metadata"]["name"] == "rltutorial"
    assert set(manifest["spec"]) == {"worker", "scheduler"}


def test_workers_single_threaded_with_resources(manifest):
    """Workers run one thread each with CPU/memory requests equal to limits."""
    worker = manifest["spec"]["worker"]
    assert worker["replicas"] >= 1
    container = _container(worker["spec"], "worker")
    args = container["args"]
    assert args[0] == "dask-worker"
    assert args[args.index("--nthreads") + 1] == "1"
    assert "$(DASK_WORKER_NAME)" in args
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["cpu"] == "1"
    assert re.fullmatch(r"\d+(Mi|Gi)", resources["limits"]["memory"])
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["TRACEWIN_EXE"] == "/opt/tracewin/tracelx64"


def test_pods_run_as_non_root(manifest):
    """Scheduler and worker pods refuse to run as root."""
    for role in ("worker", "scheduler"):
        context = manifest["spec"][role]["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] != 0


def test_licence_secret_is_optional(manifest):
    """The TraceWin licence Secret is mounted read-only and may be absent."""
    spec = manifest["spec"]["worker"]["spec"]
    [volume] = [v for v in spec["volumes"] if v["name"] == "tracewin-licence"]
    assert volume["secret"]["optional"] is True
    mounts = _container(spec, "worker")["volumeMounts"]
    assert any(m["name"] == "tracewin-licence" and m["readOnly"] for m in mounts)


def test_scheduler_ports_and_probes(manifest):
    """The scheduler serves 8786 and the dashboard on 8787, probed on /health."""
    container = _container(manifest["spec"]["scheduler"]["spec"], "scheduler")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"tcp-comm": 8786, "http-dashboard": 8787}
    for probe in ("livenessProbe", "readinessProbe"):
        check = container[probe]["httpGet"]
        assert check == {"port": "http-dashboard", "path": "/health"}
        assert container[probe]["periodSeconds"] > 0


def test_scheduler_nodeport_service(manifest):
    """A NodePort service selects this cluster's scheduler and maps both ports."""
    service = manifest["spec"]["scheduler"]["service"]
    assert service["type"] == "NodePort"
    assert service["selector"] == {
        "dask.org/cluster-name": manifest["metadata"]["name"],
        "dask.org/component": "scheduler",
    }
    container = _container(manifest["spec"]["scheduler"]["spec"], "scheduler")
    names = {p["name"] for p in container["ports"]}
    assert {(p["port"], p["targetPort"]) for p in service["ports"]} == {
        (8786, "tcp-comm"),
        (8787, "http-dashboard"),
    }
    assert {p["targetPort"] for p in service["ports"]} <= names


def test_same_image_everywhere(manifest):
    """Scheduler and workers use the same image (matching dask versions)."""
    images = {
        _container(manifest["spec"][role]["spec"], role)["image"]
        for role in ("worker", "scheduler")
    }
    assert len(images) == 1


def test_manifest_feeds_make_client(manifest, monkeypatch):
    """make_client(kubernetes=path) hands the file to KubeCluster unchanged."""
    import sys
    import types

    import distributed

    from rltutorial.sweep import make_client

    seen = {}
    module = types.ModuleType("dask_kubernetes.operator")
    module.KubeCluster = lambda **kwargs: seen.update(kwargs) or "cluster"
    monkeypatch.setitem(sys.modules, "dask_kubernetes", types.ModuleType("x"))
    monkeypatch.setitem(sys.modules, "dask_kubernetes.operator", module)
    monkeypatch.setattr(distributed, "Client", lambda cluster, timeout: cluster)
    assert make_client(kubernetes=DEPLOY / "dask-cluster.yaml") == "cluster"
    assert seen == {"custom_cluster_spec": manifest}


def test_dockerfile_base_user_and_slot(dockerfile):
    """Official Dask base, rltutorial installed, TraceWin slot marked, non-root user."""
    assert re.search(r"^FROM ghcr\.io/dask/dask:", dockerfile, re.MULTILINE)
    assert "pip install" in dockerfile and "/opt/rltutorial" in dockerfile
    assert "TRACEWIN SLOT" in dockerfile
    assert "COPY deploy/tracewin/ /opt/tracewin/" in dockerfile
    assert "ENV TRACEWIN_EXE=/opt/tracewin/tracelx64" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_dockerfile_dask_version_matches_requirements(dockerfile):
    """The base image's Dask version equals the pinned distributed version."""
    [version] = re.findall(r"^ARG DASK_VERSION=(\S+)", dockerfile, re.MULTILINE)
    pins = re.findall(
        r"^distributed==(\S+)", (REPO / "requirements.txt").read_text(), re.MULTILINE
    )
    if not pins:
        pytest.skip("requirements.txt does not pin distributed")
    assert version == pins[0]


def test_tracewin_slot_ships_no_executable():
    """deploy/tracewin/ holds only its README and a .gitignore that hides the rest."""
    slot = DEPLOY / "tracewin"
    assert (slot / "README.md").is_file()
    assert "*" in (slot / ".gitignore").read_text().split()
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/tracewin"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.split()  # fmt: skip
    assert set(tracked) <= {"deploy/tracewin/README.md", "deploy/tracewin/.gitignore"}
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/tracewin/tracelx64"],
        cwd=REPO, timeout=30,
    )  # fmt: skip
    assert ignored.returncode == 0


def test_readme_has_operator_kubectl_and_port_forward_steps():
    """deploy/README.md covers helm, kubectl apply and port-forwarding."""
    text = (DEPLOY / "README.md").read_text()
    for step in (
        "dask-kubernetes-operator",
        "kubectl apply -f deploy/dask-cluster.yaml",
        "kubectl port-forward svc/rltutorial-scheduler 8786:8786 8787:8787",
        "docker build -f deploy/Dockerfile",
    ):
        assert step in text
