"""Connect to Dask: a local cluster, a running one by address, or Kubernetes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["make_client"]

#: ``make_cluster_spec`` arguments that ``kubernetes={...}`` may set, and their
#: defaults: the image of ``deploy/Dockerfile``, otherwise ``KubeCluster``'s own (no
#: workers until scaled, no resource requests).
_SPEC_DEFAULTS: dict[str, Any] = {
    "image": "rltutorial-dask:latest",
    "n_workers": 0,
    "resources": {},
    "env": {},
    "scheduler_service_type": "ClusterIP",
    "idle_timeout": 0,
    "jupyter": False,
}


def make_client(
    address: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    kubernetes: Mapping[str, Any] | str | os.PathLike | bool | None = None,
    timeout: float = 30.0,
    **cluster_kwargs: Any,
) -> Client:
    """Connect to a Dask cluster, starting a local or Kubernetes one if asked.

    Parameters
    ----------
    address : str or None
        Scheduler address of a running cluster, e.g. ``"tcp://10.0.0.5:8786"``.
    n_workers : int or None
        Workers to start (local: default one per CPU core; Kubernetes: scale to).
    threads_per_worker : int
        Threads per worker; keep 1 for single-core simulators such as TraceWin.
    kubernetes : Mapping, str, PathLike, True or None
        Start a cluster with ``dask_kubernetes.operator.KubeCluster``: a
        ``DaskCluster`` manifest (dict with ``apiVersion`` or a YAML file, e.g.
        ``deploy/dask-cluster.yaml``) is used as it is; a dict of ``KubeCluster``
        keyword arguments, or True for its defaults, becomes a manifest from
        ``dask_kubernetes.operator.make_cluster_spec`` whose containers start with
        ``dask scheduler`` and ``dask worker --nthreads <threads_per_worker>``
        (override with ``worker_command``); ``image`` defaults to
        ``rltutorial-dask:latest`` (built from ``deploy/Dockerfile``), ``name`` to
        ``rltutorial-<random hex>``. Needs ``pip install dask-kubernetes``.
    timeout : float
        Seconds to wait for the scheduler to answer.
    **cluster_kwargs
        Passed to ``LocalCluster``; with ``kubernetes``, to ``KubeCluster`` (for a
        dict or True, they count as keys of that dict).

    Returns
    -------
    distributed.Client
        Close it when done; it also stops a local cluster it started. A Kubernetes
        cluster is stopped with ``client.cluster.close()``.

    Raises
    ------
    ValueError
        If both ``address`` and ``kubernetes`` are given, or cluster options are
        given with ``address``.
    ImportError
        If ``kubernetes`` is used without dask-kubernetes installed.
    """
    from distributed import Client

    if address is not None and kubernetes is not None:
        raise ValueError("give either address= or kubernetes=, not both")
    if kubernetes is not None:
        cluster = _kube_cluster(kubernetes, threads_per_worker, cluster_kwargs)
        if n_workers is not None:
            cluster.scale(n_workers)
        return Client(cluster, timeout=timeout)
    if address is not None:
        if cluster_kwargs or n_workers is not None:
            raise ValueError(
                f"n_workers and {sorted(cluster_kwargs)} only apply to clusters that "
                f"make_client starts, not to the running cluster at {address!r}"
            )
        return Client(address, timeout=timeout)
    n_workers = n_workers if n_workers is not None else os.cpu_count() or 1
    return Client(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        timeout=timeout,
        **cluster_kwargs,
    )


def _kube_cluster(spec: Any, threads_per_worker: int, kwargs: dict[str, Any]):
    """Create a ``KubeCluster`` from a manifest, its keyword arguments or defaults."""
    try:
        from dask_kubernetes.operator import KubeCluster
    except ImportError as error:
        raise ImportError(
            "make_client(kubernetes=...) needs the Dask Kubernetes operator client: "
            "pip install dask-kubernetes (and the operator in the cluster, see "
            "deploy/README.md)"
        ) from error
    if isinstance(spec, (str, os.PathLike)):
        import yaml

        spec = yaml.safe_load(Path(spec).read_text())
    if not isinstance(spec, Mapping) and spec is not True:
        raise ValueError(
            f"kubernetes={spec!r} is not a manifest, a YAML path, a dict or True"
        )
    if isinstance(spec, Mapping) and "apiVersion" in spec:
        return KubeCluster(custom_cluster_spec=dict(spec), **kwargs)
    options = {**({} if spec is True else spec), **kwargs}
    manifest = _cluster_manifest(options, threads_per_worker)
    return KubeCluster(custom_cluster_spec=manifest, **options)


def _cluster_manifest(options: dict[str, Any], threads_per_worker: int) -> dict:
    """A ``DaskCluster`` manifest from ``KubeCluster`` keyword arguments.

    Takes the arguments that shape the manifest out of ``options`` (the rest are for
    ``KubeCluster`` itself) and builds it with the operator's ``make_cluster_spec``.
    Its scheduler container starts ``dask-scheduler``, a script distributed no longer
    installs: the manifest runs ``dask scheduler`` instead.
    """
    from dask_kubernetes.operator import make_cluster_spec

    shape = {key: options.pop(key) for key in _SPEC_DEFAULTS.keys() & options.keys()}
    name = options.pop("name", None) or f"rltutorial-{uuid.uuid4().hex[:8]}"
    command = options.pop(
        "worker_command", ["dask", "worker", "--nthreads", str(threads_per_worker)]
    )
    manifest = make_cluster_spec(
        name=name, worker_command=command, **{**_SPEC_DEFAULTS, **shape}
    )
    for container in manifest["spec"]["scheduler"]["spec"]["containers"]:
        if container["args"][:1] == ["dask-scheduler"]:
            container["args"] = ["dask", "scheduler", *container["args"][1:]]
    return manifest
