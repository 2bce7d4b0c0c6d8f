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
    assert args[:2] == ["dask", "worker"]
    assert args[args.index("--nthreads") + 1] == "1"
    assert "$(DASK_WORKER_NAME)" in args
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["cpu"] == "1"
    assert re.fullmatch(r"\d+(Mi|Gi)", resources["limits"]["memory"])
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["TRACEWIN_EXE"] == "/opt/tracewin/tracelx64"


def test_commands_use_the_dask_command(manifest):
    """Containers start ``dask scheduler`` and ``dask worker``: no legacy scripts.

    distributed installs only the ``dask`` command; ``dask-scheduler`` and
    ``dask-worker`` would not start. The worker names no scheduler address: the
    operator passes it in ``DASK_SCHEDULER_ADDRESS``.
    """
    text = (DEPLOY / "dask-cluster.yaml").read_text()
    assert "dask-scheduler" not in text and "dask-worker" not in text
    for role in ("scheduler", "worker"):
        args = _container(manifest["spec"][role]["spec"], role)["args"]
        assert args[:2] == ["dask", role]
        assert not any(arg.startswith(("tcp://", "--scheduler-file")) for arg in args)


def _option(args: list[str], flag: str) -> str:
    """The value after ``flag`` in a command line."""
    return args[args.index(flag) + 1]


def test_command_ports_match_container_ports(manifest):
    """The ports the commands listen on are the containers' declared ports."""
    scheduler = _container(manifest["spec"]["scheduler"]["spec"], "scheduler")
    worker = _container(manifest["spec"]["worker"]["spec"], "worker")
    declared = {p["name"]: p["containerPort"] for p in scheduler["ports"]}
    assert int(_option(scheduler["args"], "--port")) == declared["tcp-comm"]
    dashboard = _option(scheduler["args"], "--dashboard-address")
    assert int(dashboard.rsplit(":", 1)[-1]) == declared["http-dashboard"]
    [worker_port] = worker["ports"]
    assert "--dashboard" in worker["args"]
    worker_dashboard = int(_option(worker["args"], "--dashboard-address"))
    assert worker_dashboard == worker_port["containerPort"]
    assert worker_port["name"] == "http-dashboard"


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


def test_dockerfile_tracewin_slot(dockerfile):
    """The image has the marked TraceWin slot and points TRACEWIN_EXE into it."""
    assert "TRACEWIN SLOT" in dockerfile
    assert "COPY deploy/tracewin/ /opt/tracewin/" in dockerfile
    assert "ENV TRACEWIN_EXE=/opt/tracewin/tracelx64" in dockerfile


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
    """deploy/README.md covers helm, kubectl apply, scaling and port-forwarding."""
    text = (DEPLOY / "README.md").read_text()
    for step in (
        "helm install --repo https://helm.dask.org --create-namespace -n dask-operator",
        "--generate-name dask-kubernetes-operator",
        "kubectl apply -f deploy/dask-cluster.yaml",
        "kubectl scale --replicas=16 daskworkergroup rltutorial-default",
        "kubectl port-forward svc/rltutorial-scheduler 8786:8786 8787:8787",
        "docker build -f deploy/Dockerfile",
        "kubectl delete -f deploy/dask-cluster.yaml",
    ):
        assert step in text


def test_readme_names_every_deploy_test():
    """The "How this is checked" section names exactly the deploy test files."""
    text = (DEPLOY / "README.md").read_text()
    section = text[text.index("## How this is checked") :]
    named = set(re.findall(r"tests/test_deploy\w*\.py", section))
    present = {
        f"tests/{path.name}" for path in (REPO / "tests").glob("test_deploy*.py")
    }
    assert named == present


def _python_blocks(text: str) -> list[str]:
    """The ```python blocks of a Markdown text."""
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_readme_python_examples_match_the_code():
    """Every Python example parses and calls the sweep API with its real parameters."""
    import ast
    import inspect

    from rltutorial import sweep

    blocks = _python_blocks((DEPLOY / "README.md").read_text())
    assert len(blocks) >= 3
    calls = 0
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in {"make_client", "run_sweep", "grid"}:
                continue
            calls += 1
            signature = inspect.signature(getattr(sweep, node.func.id))
            kinds = {p.kind for p in signature.parameters.values()}
            keywords = {k.arg for k in node.keywords if k.arg is not None}
            if inspect.Parameter.VAR_KEYWORD not in kinds:
                assert keywords <= set(signature.parameters), ast.unparse(node)
            positional = [
                p for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]  # fmt: skip
            if inspect.Parameter.VAR_POSITIONAL not in kinds:
                assert len(node.args) <= len(positional), ast.unparse(node)
    assert calls >= 6
