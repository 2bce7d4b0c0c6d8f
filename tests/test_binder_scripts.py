"""Binder's own scripts as repo2docker runs them: ``postBuild`` installs the package,
``start`` hands over to the server and sends the Dask dashboard and TensorBoard through
the Jupyter server's proxy; the README's badge opens a notebook of this repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
#: What JupyterHub sets on Binder: the server's URL prefix.
HUB_PREFIX = "/user/rltutorial-rltutorial-3f9x2k1q/"


pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="repo2docker images and the binder/ scripts are Linux",
)


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_binder_scripts_are_executable(script):
    """Both scripts carry the executable bit (as committed, a clone has them so)."""
    assert os.access(BINDER / script, os.X_OK), f"binder/{script} is not executable"


def test_postbuild_installs_the_package_editable(tmp_path):
    """``postBuild`` runs ``pip install --no-deps -e .`` from the repository root.

    repo2docker runs it from the repository root with the image's environment first
    on ``PATH``; a ``pip`` stand-in earlier on ``PATH`` records what it was asked.
    The dependencies are already pinned by ``requirements.txt``, so ``--no-deps``
    keeps them (the CPU torch among them) as they are.
    """
    log = tmp_path / "pip.log"
    shim = tmp_path / "bin" / "pip"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$PWD|$*" >> "{log}"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(BINDER / "postBuild")], cwd=REPO, env=env, timeout=60)
    assert done.returncode == 0
    [call] = log.read_text().splitlines()
    cwd, _, args = call.partition("|")
    assert Path(cwd).resolve() == REPO
    words = args.split()
    assert words[0] == "install" and "--no-deps" in words, words
    assert "." in words and words[words.index(".") - 1] in ("-e", "--editable"), words


def _start_script() -> str:
    """Path of ``binder/start``, which must exist (repo2docker runs it if it does)."""
    start = BINDER / "start"
    assert (
        start.is_file()
    ), "binder/start is missing: nothing points Dask or TensorBoard at the proxy"
    return str(start)


def _start(code: str, prefix: str | None) -> subprocess.CompletedProcess:
    """Run Python ``code`` through ``binder/start`` as a server launch with ``prefix``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DASK_", "TENSORB"))
    }
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    if prefix is not None:
        env["JUPYTERHUB_SERVICE_PREFIX"] = prefix
    return subprocess.run(
        [_start_script(), sys.executable, "-c", textwrap.dedent(code)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_start_hands_over_to_the_server_command():
    """``start`` ends in ``exec "$@"``: the command replaces it, exit status included."""
    launched = subprocess.Popen(
        [_start_script(), sys.executable, "-c",
         "import os, sys; print(os.getpid()); sys.exit(3)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, _ = launched.communicate(timeout=60)
    assert launched.returncode == 3
    assert int(out.strip()) == launched.pid


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(HUB_PREFIX, HUB_PREFIX), (None, "/")],
    ids=["hub", "local"],
)
def test_dask_dashboard_link_goes_through_the_jupyter_proxy(prefix, expected):
    """A cluster's dashboard link is ``<prefix>proxy/<port>/status`` after ``start``.

    That link is what the cluster and client widgets show and what the Dask sidebar
    (dask-labextension) opens; jupyter-server-proxy serves it inside the server.
    """
    done = _start(
        """
        from distributed import LocalCluster
        with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0") as cluster:
            port = cluster.scheduler_info["services"]["dashboard"]
            print(port, cluster.dashboard_link)
        """,
        prefix,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    port, link = done.stdout.split()[-2:]
    assert link == f"{expected}proxy/{port}/status"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(HUB_PREFIX, HUB_PREFIX), (None, "/")],
    ids=["hub", "local"],
)
def test_tensorboard_magic_goes_through_the_jupyter_proxy(prefix, expected):
    """``%tensorboard`` embeds ``<prefix>proxy/<port>/`` after ``start``.

    TensorBoard's notebook integration reads ``TENSORBOARD_PROXY_URL`` and puts the
    port in for ``%PORT%``; the check reads that contract from the installed
    TensorBoard, so an upgrade that drops it fails here.
    """
    done = _start(
        """
        import os, tensorboard.notebook
        from pathlib import Path
        source = Path(tensorboard.notebook.__file__).read_text()
        print("TENSORBOARD_PROXY_URL" in source and "%PORT%" in source)
        print(os.environ["TENSORBOARD_PROXY_URL"].replace("%PORT%", "6006"))
        """,
        prefix,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    honoured, url = done.stdout.split()[-2:]
    assert honoured == "True", "TensorBoard no longer reads TENSORBOARD_PROXY_URL"
    assert url == f"{expected}proxy/6006/"


def test_binder_badge_opens_a_notebook_of_this_repository():
    """The README's Binder link builds ``main`` and opens a notebook that exists."""
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\(https://mybinder\.org/v2/gh/([^)\s]+)\)", readme)
    assert links, "README has no Binder link"
    for link in links:
        found = re.fullmatch(r"[\w.-]+/[\w.-]+/main\?urlpath=lab/tree/(\S+)", link)
        assert (
            found
        ), f"Binder link {link!r}: want <owner>/<repo>/main?urlpath=lab/tree/…"
        assert (REPO / found.group(1)).is_file(), f"{found.group(1)} does not exist"
