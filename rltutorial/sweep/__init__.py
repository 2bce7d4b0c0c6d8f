"""Parameter sweeps, from a laptop to a Dask cluster: one row per point, none lost.

:func:`run_sweep` calls ``simulate(**point)`` for every point and returns a
:class:`pandas.DataFrame` in input order with the parameters, the results and
:data:`RESERVED_COLUMNS` (``status``, ``error``, ``duration_s``, ``worker``,
``attempts``). A point that fails, hangs or whose worker dies gets a row all the same:

=========  ==========================================================================
status     meaning
=========  ==========================================================================
ok         ``simulate`` returned a dict of results, every numeric one finite
failed     ``simulate`` raised (``error`` holds ``Type: message``), returned no dict,
           or returned NaN or infinite numbers
timeout    ``simulate`` ran longer than ``timeout``
lost       its workers died (Dask gave up after ``distributed.scheduler.allowed-
           failures`` deaths), its isolated process died, it was cancelled or
           interrupted, or no worker was left for ``no_worker_timeout`` s
=========  ==========================================================================

Parameter names must not be result columns: :data:`RESERVED_COLUMNS` and the results
a backend declares (``cheetah``: mu_x, sigma_x, mu_y, sigma_y; give the incoming
beam's as ``incoming_sigma_x``) are refused before anything runs. Grid axes follow
the rule in :mod:`rltutorial.sweep.grid` (sets and generators are refused).

Where simulations run: ``client=None`` runs them one after another in this process;
``isolate=True`` runs them one after another in a child process that is replaced when
a point kills it (:mod:`rltutorial.sweep.isolation`); a :class:`distributed.Client`
from :func:`make_client` runs them on a local cluster (processes, one thread each), an
existing cluster reached by its scheduler address (SSH, cloud) or a Kubernetes
cluster (dask-kubernetes operator). **Without a client or ``isolate=True``, a point
that kills the process (``os._exit``, a crash in compiled code, the out-of-memory
killer) takes the whole sweep, finished points included, with it.**

On Dask, at most a window of points is in flight and each finished point goes
straight into a compact table (:mod:`rltutorial.sweep.distributed`,
:mod:`rltutorial.sweep.table`), so the client's memory does not grow with the number
of points beyond the table itself. Ctrl-C raises :class:`SweepInterrupted` (a
``KeyboardInterrupt``) whose ``table`` holds the finished points, the others marked
``lost``.

Training studies: the ``"training"`` backend (:mod:`rltutorial.sweep.studies`) runs
one :func:`rltutorial.train` per point, the point's config keys laid over a base
config, and returns the evaluation metrics, training facts and the saved agent's
folder; ``simulate_kwargs={"base_config": ..., "folder": "studies/rewards"}`` keeps the
study's agents, logs and recordings together.

About ``timeout``: a Python thread cannot be killed. For backends that manage a
subprocess (``"tracewin"``) the timeout is passed on and the subprocess is killed. For
plain Python functions the point is reported as ``timeout`` and the sweep moves on,
but the stuck call keeps running in a background thread of its worker until it
returns or the worker stops; with ``isolate=True`` its child process is killed.

Examples
--------
>>> from rltutorial.sweep import grid, run_sweep
>>> def square(x, offset=0.0):
...     return {"y": x * x + offset}
>>> frame = run_sweep(square, grid(x=[1.0, 2.0], offset=[0.0, 10.0]), progress=False)
>>> frame["y"].tolist(), frame["status"].unique().tolist()
([1.0, 11.0, 4.0, 14.0], ['ok'])
"""

from __future__ import annotations

from rltutorial.sweep.backends import (
    SWEEP_BACKENDS,
    ProjectArchive,
    SweepBackend,
    cheetah_parameters,
    cheetah_simulate,
    get_backend,
    pack_project,
    register_backend,
    tracewin_simulate,
    unpack_project,
)
from rltutorial.sweep.cluster import make_client
from rltutorial.sweep.execution import PointTimeoutError
from rltutorial.sweep.grid import grid
from rltutorial.sweep.runner import (
    RESERVED_COLUMNS,
    STATUSES,
    SweepInterrupted,
    run_sweep,
)
from rltutorial.sweep.studies import study_config, train_point

__all__ = [
    "RESERVED_COLUMNS",
    "STATUSES",
    "SWEEP_BACKENDS",
    "PointTimeoutError",
    "ProjectArchive",
    "SweepBackend",
    "SweepInterrupted",
    "cheetah_parameters",
    "cheetah_simulate",
    "get_backend",
    "grid",
    "make_client",
    "pack_project",
    "register_backend",
    "run_sweep",
    "study_config",
    "tracewin_simulate",
    "train_point",
    "unpack_project",
]
