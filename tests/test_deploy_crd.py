"""deploy/ against the dask-kubernetes operator's own files (its wheel, not installed).

The wheel of dask-kubernetes (the version below, from ``pip download``) is read as a
zip. Its ``operator/customresources/daskcluster.yaml`` is the ``DaskCluster`` CRD, whose
schema is a ``$ref`` into ``templates.yaml``; those templates in turn refer to the
Kubernetes ``PodSpec`` and ``ServiceSpec`` of k8s-crd-resolver, which the wheel does
not carry. The CRD its Helm chart installs (``operator/deployment/helm/.../crds/``) has
every ``$ref`` resolved: the two Kubernetes definitions are taken from there, and a
test checks that the resolved source schema is the chart's.

Validation follows ``kubectl apply`` (strict field validation): an unknown field is an
error, not silently dropped. The operator's spec builders, naming rules and scale
subresources come from the same wheel.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
OPERATOR_VERSION = "2026.3.0"
#: sha256 of dask_kubernetes-2026.3.0-py3-none-any.whl as PyPI serves it.
WHEEL_SHA256 = "5cf138e03cb1851063b82b74e9fd4679251238e3867fcae1e3682aada6410728"
OPERATOR = "dask_kubernetes/operator"
CHART_CRDS = f"{OPERATOR}/deployment/helm/dask-kubernetes-operator/crds"
TEMPLATES = f"python://{OPERATOR}/customresources/templates.yaml"
KUBERNETES_SCHEMATA = "python://k8s_crd_resolver/schemata/k8s-1.21.1.json"
#: pip output that means PyPI could not be reached (the only reason to skip).
_OFFLINE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "Read timed out",
    "ProxyError",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The dask-kubernetes wheel from PyPI, checked by hash (skips only when offline)."""
    folder = tmp_path_factory.mktemp("operator")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
               ":all:", "--retries", "1", "--timeout", "20", "-d", str(folder),
               f"dask-kubernetes=={OPERATOR_VERSION}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    offline = [line for line in output.splitlines() if any(m in line for m in _OFFLINE)]
    if result.returncode != 0 and offline:
        pytest.skip(f"PyPI is not reachable: {offline[0].strip()[:300]}")
    assert result.returncode == 0, output
    [path] = folder.glob("dask_kubernetes-*.whl")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == WHEEL_SHA256
    with zipfile.ZipFile(path) as archive:
        yield archive


def _yaml(wheel: zipfile.ZipFile, path: str) -> Any:
    """A YAML file of the wheel (safe loading; LibYAML's when available)."""
    return yaml.load(
        wheel.read(path), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )


def resolve_refs(node: Any, documents: Callable[[str], Any]) -> Any:
    """``node`` with every ``{"$ref": "<document>#/<pointer>"}`` replaced by its target.

    ``documents`` maps a document's address to its content.
    """
    if isinstance(node, list):
        return [resolve_refs(item, documents) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        address, _, pointer = node["$ref"].partition("#")
        target = documents(address)
        for part in filter(None, pointer.split("/")):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return resolve_refs(target, documents)
    return {key: resolve_refs(value, documents) for key, value in node.items()}


def strict(schema: dict) -> dict:
    """``schema`` rejecting fields it does not name, as ``kubectl apply`` does."""
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            schema["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [strict(option) for option in schema[key]]
    return schema


def _served_version(crd: dict) -> dict:
    """The one version of a CRD."""
    [version] = crd["spec"]["versions"]
    return version


@pytest.fixture(scope="module")
def chart_crd(wheel) -> dict:
    """The DaskCluster CRD the operator's Helm chart installs."""
    return _yaml(wheel, f"{CHART_CRDS}/daskcluster.yaml")


@pytest.fixture(scope="module")
def crd(wheel, chart_crd) -> dict:
    """The DaskCluster CRD from customresources/, its ``$ref``s resolved."""
    chart = _served_version(chart_crd)["schema"]["openAPIV3Schema"]["properties"]
    kubernetes = {
        "definitions": {
            "io.k8s.api.core.v1.PodSpec": chart["spec"]["properties"]["worker"][
                "properties"
            ]["spec"],
            "io.k8s.api.core.v1.ServiceSpec": chart["spec"]["properties"]["scheduler"][
                "properties"
            ]["service"],
        }
    }

    def documents(address: str) -> Any:
        if address == KUBERNETES_SCHEMATA:
            return kubernetes
        package_path = address.removeprefix("python://")
        if not package_path.startswith(f"{OPERATOR}/"):
            raise KeyError(f"unexpected $ref document {address!r}")
        return _yaml(wheel, package_path)

    source = _yaml(wheel, f"{OPERATOR}/customresources/daskcluster.yaml")
    return resolve_refs(source, documents)


def validate(manifest: dict, crd: dict) -> None:
    """Validate a manifest as the API server would a custom resource of ``crd``.

    Raises
    ------
    jsonschema.ValidationError
        For a wrong field, type or value.
    """
    version = _served_version(crd)
    expected = f"{crd['spec']['group']}/{version['name']}"
    if manifest.get("apiVersion") != expected:
        raise jsonschema.ValidationError(f"apiVersion is not {expected!r}")
    if manifest.get("kind") != crd["spec"]["names"]["kind"]:
        raise jsonschema.ValidationError(f"kind is not {crd['spec']['names']['kind']}")
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    metadata = body.pop("metadata", {})
    if not isinstance(metadata.get("name"), str):
        raise jsonschema.ValidationError("metadata.name is missing")
    schema = strict(version["schema"]["openAPIV3Schema"])
    jsonschema.Draft4Validator(schema).validate(body)


@pytest.fixture(scope="module")
def manifest() -> dict:
    """deploy/dask-cluster.yaml."""
    return yaml.safe_load((DEPLOY / "dask-cluster.yaml").read_text())


def test_resolved_schema_is_the_one_the_chart_installs(crd, chart_crd):
    """customresources/ with its ``$ref``s resolved equals the Helm chart's CRD."""

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if k != "description"}
        return [plain(v) for v in node] if isinstance(node, list) else node

    resolved = plain(_served_version(crd))
    assert "$ref" not in repr(resolved)
    assert resolved == plain(_served_version(chart_crd))


def test_manifest_is_a_valid_dask_cluster(manifest, crd, wheel):
    """The manifest passes the CRD schema and the operator's cluster-name rule."""
    validate(manifest, crd)
    constants: dict[str, Any] = {}
    exec(wheel.read("dask_kubernetes/constants.py"), constants)
    assert constants["VALID_CLUSTER_NAME"].match(manifest["metadata"]["name"])


def _mangle(manifest: dict, change: str) -> dict:
    """A copy of ``manifest`` with one mistake."""
    broken = copy.deepcopy(manifest)
    worker = broken["spec"]["worker"]
    container = worker["spec"]["containers"][0]
    if change == "replicas as text":
        worker["replicas"] = "four"
    elif change == "misspelt args":
        container["agrs"] = container.pop("args")
    elif change == "container without name":
        del container["name"]
    elif change == "port as text":
        container["ports"][0]["containerPort"] = "http"
    elif change == "scheduler without service":
        del broken["spec"]["scheduler"]["service"]
    elif change == "unknown spec field":
        broken["spec"]["workers"] = broken["spec"].pop("worker")
    elif change == "wrong apiVersion":
        broken["apiVersion"] = "kubernetes.dask.org/v2"
    return broken


@pytest.mark.parametrize(
    "change",
    [
        "replicas as text",
        "misspelt args",
        "container without name",
        "port as text",
        "scheduler without service",
        "unknown spec field",
        "wrong apiVersion",
    ],
)
def test_mangled_manifest_fails(manifest, crd, change):
    """Each single mistake in a copy of the manifest fails validation."""
    with pytest.raises(jsonschema.ValidationError):
        validate(_mangle(manifest, change), crd)


def _operator_functions(wheel: zipfile.ZipFile, path: str, *names: str) -> dict:
    """Functions ``names`` of a module of the wheel, without importing the module.

    Their annotations are dropped (they name types of packages not installed here).
    """
    tree = ast.parse(wheel.read(path))
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    chosen = [n for n in functions if n.name in names]
    assert sorted(n.name for n in chosen) == sorted(names)
    for function in chosen:
        function.returns = None
        for argument in ast.walk(function.args):
            if isinstance(argument, ast.arg):
                argument.annotation = None
    namespace: dict[str, Any] = {}
    module = ast.Module(body=chosen, type_ignores=[])
    exec(compile(module, path, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("threads", [1, 2])
def test_generated_cluster_spec_starts_dask_commands(wheel, crd, monkeypatch, threads):
    """make_client(kubernetes={...}) builds a valid manifest running today's commands.

    The spec comes from the operator's own ``make_cluster_spec``; its scheduler
    would run ``dask-scheduler``, which make_client replaces by ``dask scheduler``.
    """
    import types

    import distributed

    from rltutorial.sweep import make_client

    builders = _operator_functions(
        wheel, f"{OPERATOR}/kubecluster/kubecluster.py",
        "make_cluster_spec", "make_worker_spec", "make_scheduler_spec",
    )  # fmt: skip
    seen: dict = {}
    module = types.ModuleType("dask_kubernetes.operator")
    module.KubeCluster = lambda **kwargs: seen.update(kwargs) or "cluster"
    module.make_cluster_spec = builders["make_cluster_spec"]
    monkeypatch.setitem(sys.modules, "dask_kubernetes", types.ModuleType("x"))
    monkeypatch.setitem(sys.modules, "dask_kubernetes.operator", module)
    monkeypatch.setattr(distributed, "Client", lambda cluster, timeout: cluster)
    options = {"n_workers": 2, "namespace": "sweeps", "env": {"OMP_NUM_THREADS": "1"}}
    make_client(kubernetes=options, threads_per_worker=threads)
    spec = seen.pop("custom_cluster_spec")
    assert seen == {"namespace": "sweeps"}
    validate(spec, crd)
    assert re.fullmatch(r"rltutorial-[0-9a-f]{8}", spec["metadata"]["name"])
    assert spec["spec"]["worker"]["replicas"] == 2
    worker = spec["spec"]["worker"]["spec"]["containers"][0]
    scheduler = spec["spec"]["scheduler"]["spec"]["containers"][0]
    assert worker["args"][:4] == ["dask", "worker", "--nthreads", str(threads)]
    assert "$(DASK_WORKER_NAME)" in worker["args"]
    assert scheduler["args"][:2] == ["dask", "scheduler"]
    assert worker["image"] == scheduler["image"] == "rltutorial-dask:latest"


def test_readme_names_what_the_operator_creates(manifest, wheel):
    """deploy/README.md uses the operator's service and worker-group names.

    The service is ``SCHEDULER_NAME_TEMPLATE`` of the cluster, the default worker
    group is named by ``build_default_worker_group_spec``, and both DaskCluster and
    DaskWorkerGroup scale through ``.spec.worker.replicas``.
    """
    name = manifest["metadata"]["name"]
    constants: dict[str, Any] = {}
    exec(wheel.read("dask_kubernetes/constants.py"), constants)
    service = constants["SCHEDULER_NAME_TEMPLATE"].format(cluster_name=name)
    build = _operator_functions(
        wheel, f"{OPERATOR}/controller/controller.py", "build_default_worker_group_spec"
    )["build_default_worker_group_spec"]
    group = build(name, {}, {}, {})["metadata"]["name"]
    text = (DEPLOY / "README.md").read_text()
    assert f"svc/{service} " in text and f"kubectl get svc {service}" in text
    assert f"daskworkergroup {group}" in text
    assert f"daskcluster {name}" in text
    for resource in ("daskcluster", "daskworkergroup"):
        version = _served_version(_yaml(wheel, f"{CHART_CRDS}/{resource}.yaml"))
        assert version["subresources"]["scale"]["specReplicasPath"] == (
            ".spec.worker.replicas"
        )
