"""The DaskCluster's own command lines, run on 127.0.0.1 as the operator would run them.

The scheduler's and the worker's container ``args`` come from deploy/dask-cluster.yaml
unchanged except for where they listen: free ports on 127.0.0.1 instead of 8786, 8787
and 8788 on the pod's address. The worker gets the environment the dask-kubernetes
operator gives it: the container's ``env`` plus ``DASK_WORKER_NAME`` and
``DASK_SCHEDULER_ADDRESS`` (the scheduler's address, which ``dask worker`` reads when
its command line names none), and ``$(VAR)`` references are expanded as Kubernetes
expands them. ``dask`` is found on ``PATH``, as in the image. A Cheetah sweep then runs
through that scheduler, and stopping the pods (SIGTERM, then SIGKILL) leaves nothing
running.
"""

from __future__ import annotations

import math
import os
import re
import sys
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml
from loopback import ProcessGroups, collect_garbage, free_port

from rltutorial.sweep import grid, make_client, run_sweep

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "dask-cluster.yaml"
STARTUP_S = 60.0
STOP_GRACE_S = 15.0
#: $$ (a literal $) or $(NAME), NAME a Kubernetes environment variable name.
_KUBERNETES_VAR = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand_vars(arg: str, env: Mapping[str, str]) -> str:
    """Expand ``$(NAME)`` in a container argument as Kubernetes does.

    ``$$`` stands for a literal ``$``; a reference to a name that ``env`` lacks is
    left as it is.
    """

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _KUBERNETES_VAR.sub(replace, arg)


def with_option(args: Sequence[str], flag: str, value: str) -> list[str]:
    """``args`` with ``flag`` set to ``value``: replaced where given, else appended."""
    args = list(args)
    for index, arg in enumerate(args):
        if arg == flag:
            args[index + 1] = value
            return args
        if arg.startswith(f"{flag}="):
            args[index] = f"{flag}={value}"
            return args
    return [*args, flag, value]


def container_env(
    container: Mapping, operator_env: Mapping[str, str]
) -> dict[str, str]:
    """The container's ``env`` plus the operator's variables it does not set itself."""
    env = {item["name"]: item.get("value", "") for item in container.get("env", [])}
    return {**operator_env, **env}


def _container(manifest: Mapping, role: str) -> dict:
    """The first container of the scheduler's or the workers' pod spec."""
    return manifest["spec"][role]["spec"]["containers"][0]


def _listen_on_loopback(args: Sequence[str], **options: str) -> list[str]:
    """``args`` listening on 127.0.0.1 with ``options`` (``dashboard_address=...``)."""
    args = with_option(args, "--host", "127.0.0.1")
    for name, value in options.items():
        args = with_option(args, "--" + name.replace("_", "-"), value)
    return args


def manifest_commands(
    manifest: Mapping, ports: Mapping[str, int], operator_env: Mapping[str, str]
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Command line and environment of the scheduler and of a worker, on loopback.

    Parameters
    ----------
    manifest : Mapping
        The DaskCluster.
    ports : Mapping[str, int]
        ``comm`` and ``dashboard`` of the scheduler, ``worker_dashboard``.
    operator_env : Mapping[str, str]
        What the operator adds to a worker's environment.

    Returns
    -------
    dict
        ``{"scheduler": (argv, env), "worker": (argv, env)}``; ``env`` holds only
        the variables Kubernetes sets.
    """
    scheduler = _container(manifest, "scheduler")
    worker = _container(manifest, "worker")
    scheduler_env = container_env(scheduler, {})
    worker_env = container_env(worker, operator_env)
    scheduler_args = [expand_vars(arg, scheduler_env) for arg in scheduler["args"]]
    worker_args = [expand_vars(arg, worker_env) for arg in worker["args"]]
    return {
        "scheduler": (
            _listen_on_loopback(
                scheduler_args,
                port=str(ports["comm"]),
                dashboard_address=f"127.0.0.1:{ports['dashboard']}",
            ),
            scheduler_env,
        ),
        "worker": (
            _listen_on_loopback(
                worker_args,
                dashboard_address=f"127.0.0.1:{ports['worker_dashboard']}",
            ),
            worker_env,
        ),
    }


def _operator_env(manifest: Mapping, address: str) -> dict[str, str]:
    """The variables the operator gives a worker of the default worker group."""
    group = f"{manifest['metadata']['name']}-default"
    return {
        "DASK_WORKER_NAME": f"{group}-worker-{uuid.uuid4().hex[:10]}",
        "DASK_SCHEDULER_ADDRESS": address,
    }


def _manifest() -> dict:
    """deploy/dask-cluster.yaml."""
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture
def manifest_cluster(tmp_path):
    """Scheduler and one worker started from the manifest's commands on loopback."""
    manifest = _manifest()
    ports = {name: free_port() for name in ("comm", "dashboard", "worker_dashboard")}
    address = f"tcp://127.0.0.1:{ports['comm']}"
    commands = manifest_commands(manifest, ports, _operator_env(manifest, address))
    # this interpreter's scripts (``dask``) first on PATH, as /usr/local/bin in the image
    scripts = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    groups = ProcessGroups(tmp_path)
    try:
        for role, (argv, env) in commands.items():
            groups.spawn(role, argv, {**os.environ, "PATH": scripts, **env})
        yield {
            "address": address,
            "ports": ports,
            "manifest": manifest,
            "worker_env": commands["worker"][1],
            "groups": groups,
        }
    finally:
        groups.close(grace_s=STOP_GRACE_S)
        collect_garbage()


def _get(url: str) -> tuple[int, str]:
    """Status and body of an HTTP GET on loopback."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_manifest_commands_are_the_ones_run():
    """Only where they listen differs from the manifest's scheduler and worker args.

    The worker's ``--name`` is the operator's ``DASK_WORKER_NAME``; no scheduler
    address is on its command line (it comes from ``DASK_SCHEDULER_ADDRESS``).
    """
    manifest = _manifest()
    ports = {"comm": 1001, "dashboard": 1002, "worker_dashboard": 1003}
    operator_env = _operator_env(manifest, "tcp://127.0.0.1:1001")
    commands = manifest_commands(manifest, ports, operator_env)
    listen = {"--host", "--port", "--dashboard-address"}
    for role, (command, env) in commands.items():
        args = [expand_vars(a, env) for a in _container(manifest, role)["args"]]
        assert command[:2] == ["dask", role]
        kept = [a for i, a in enumerate(command) if not _is_listen(command, i, listen)]
        assert kept == [
            a for i, a in enumerate(args) if not _is_listen(args, i, listen)
        ]
        assert not any(arg.startswith("tcp://") for arg in command)
    worker_args, worker_env = commands["worker"]
    name = worker_args[worker_args.index("--name") + 1]
    assert name == operator_env["DASK_WORKER_NAME"] == worker_env["DASK_WORKER_NAME"]
    assert worker_env["DASK_SCHEDULER_ADDRESS"] == "tcp://127.0.0.1:1001"
    scheduler_args = commands["scheduler"][0]
    assert scheduler_args[scheduler_args.index("--port") + 1] == "1001"
    dashboard = scheduler_args[scheduler_args.index("--dashboard-address") + 1]
    assert dashboard == "127.0.0.1:1002"


def test_kubernetes_variable_expansion():
    """$(NAME) expands from the env, $$ is a literal $, unknown names stay as written."""
    env = {"DASK_WORKER_NAME": "w-1"}
    assert expand_vars("$(DASK_WORKER_NAME)", env) == "w-1"
    assert expand_vars("x-$(DASK_WORKER_NAME)-y", env) == "x-w-1-y"
    assert expand_vars("$$(DASK_WORKER_NAME)", env) == "$(DASK_WORKER_NAME)"
    assert expand_vars("$(MISSING)", env) == "$(MISSING)"
    assert with_option(["a", "--port", "1"], "--port", "2") == ["a", "--port", "2"]
    assert with_option(["a", "--port=1"], "--port", "2") == ["a", "--port=2"]
    assert with_option(["a"], "--port", "2") == ["a", "--port", "2"]


def _is_listen(args: Sequence[str], index: int, flags: set[str]) -> bool:
    """Whether ``args[index]`` is one of ``flags`` or the value following one."""
    return args[index] in flags or (index > 0 and args[index - 1] in flags)


def test_manifest_cluster_runs_a_cheetah_sweep(manifest_cluster):
    """The manifest's scheduler and worker run a Cheetah sweep, then stop cleanly.

    The worker registers under the name the operator gave it, with the manifest's
    one thread and environment; the scheduler answers its readiness/liveness probe
    path on the dashboard port; every point is ok with its own beam on the screen;
    SIGTERM and SIGKILL leave no process of either pod behind.
    """
    groups = manifest_cluster["groups"]
    client = make_client(manifest_cluster["address"], timeout=STARTUP_S)
    try:
        try:
            client.wait_for_workers(1, timeout=STARTUP_S)
        except TimeoutError as error:
            raise AssertionError(f"no worker joined:\n{groups.tails()}") from error
        [(worker_address, info)] = client.scheduler_info()["workers"].items()
        assert info["name"] == manifest_cluster["worker_env"]["DASK_WORKER_NAME"]
        assert info["nthreads"] == 1
        environment = client.run(os.getenv, "TRACEWIN_EXE")
        assert environment == {worker_address: "/opt/tracewin/tracelx64"}
        probe = _container(manifest_cluster["manifest"], "scheduler")["readinessProbe"]
        url = f"http://127.0.0.1:{manifest_cluster['ports']['dashboard']}"
        assert _get(url + probe["httpGet"]["path"]) == (200, "ok")

        points = grid(q1=[-10.0, 10.0], q3=[0.0, 5.0])
        frame = run_sweep("cheetah", points, client=client, progress=False)
        assert frame["status"].tolist() == ["ok"] * 4, frame["error"].tolist()
        assert set(frame["worker"]) == {worker_address}
        sizes = frame[["sigma_x", "sigma_y"]].to_numpy()
        assert all(math.isfinite(size) and size > 0 for size in sizes.ravel())
        assert len({tuple(row) for row in sizes}) == 4  # each point its own beam
    finally:
        client.close(timeout=10)
    groups.close(grace_s=STOP_GRACE_S)
    assert groups.survivors() == []
