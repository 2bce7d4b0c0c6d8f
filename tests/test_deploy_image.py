"""The worker image as deploy/Dockerfile describes it (Docker itself does not run here).

Checked from the text of the Dockerfile and the files it copies: a pinned slim base
with this Python, only the runtime dependencies at the versions requirements.txt pins
(deploy/requirements-worker.txt), torch from PyTorch's CPU-only index unless
overridden, the user the manifest runs as, and that the files the image gets build the
same wheel as the whole repository does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Where the image's build of rltutorial takes its sources from.
IMAGE_SOURCE = "/opt/rltutorial"
#: In the image besides the runtime dependencies: the dashboards of the scheduler
#: (http://localhost:8787/status) and of the workers (``--dashboard``) need bokeh.
DASHBOARD = {"bokeh"}
#: Workshop and test tools that must stay out of the image.
NOT_IN_IMAGE = {"jupyterlab", "pytest", "playwright", "nbval", "nbconvert", "ipykernel"}


def _pins(path: Path) -> dict[str, str]:
    """``name == version`` lines of a requirements file (names canonical)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line!r} is not a pin"
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _runtime() -> dict[str, Requirement]:
    """pyproject.toml's ``[project] dependencies`` by canonical name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {canonicalize_name(r.name): r for r in requirements}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    """The instructions of deploy/Dockerfile."""
    return instructions((DEPLOY / "Dockerfile").read_text())


def _args(steps) -> dict[str, str]:
    """Defaults of the Dockerfile's ``ARG NAME=value`` lines."""
    pairs = (a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    return {name: value for name, value in pairs}


def _runs(steps, needle: str) -> list[str]:
    """RUN instructions containing ``needle``."""
    return [a for k, a in steps if k == "RUN" and needle in a]


def _copies(steps) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY."""
    copies = []
    for keyword, arguments in steps:
        if keyword == "COPY":
            *sources, destination = arguments.split()
            copies.append((sources, destination))
    return copies


def test_worker_requirements_are_the_runtime_pins():
    """The image's pins: runtime dependencies (plus bokeh) at requirements.txt versions.

    Every pin satisfies pyproject.toml's range; no JupyterLab, notebook or test tool.
    """
    worker = _pins(DEPLOY / "requirements-worker.txt")
    pinned = _pins(REPO / "requirements.txt")
    runtime = _runtime()
    assert set(worker) == set(runtime) | DASHBOARD
    for name, version in worker.items():
        assert pinned.get(name) == version, f"{name}: {version} vs {pinned.get(name)}"
        if name in runtime:
            assert runtime[name].specifier.contains(version), f"{name} {version}"
    assert not set(worker) & NOT_IN_IMAGE
    assert NOT_IN_IMAGE <= set(pinned)  # the names above are real requirement names


def test_dockerfile_installs_worker_requirements_with_cpu_torch(steps):
    """Dependencies come from requirements-worker.txt with PyTorch's CPU index.

    The index is a build argument (overridable); rltutorial itself is installed
    without dependencies and ``pip check`` proves the set complete.
    """
    assert _args(steps)["TORCH_INDEX_URL"] == CPU_INDEX
    copies = {dest: sources for sources, dest in _copies(steps)}
    destination = "/opt/rltutorial/requirements-worker.txt"
    assert copies[destination] == ["deploy/requirements-worker.txt"]
    assert not any("requirements.txt" in s for s in sum(copies.values(), []))
    [install] = _runs(steps, f"-r {destination}")
    assert '--extra-index-url "${TORCH_INDEX_URL}"' in install
    [package] = _runs(steps, "pip install --no-deps /opt/rltutorial")
    assert "pip check" in package
    assert "dask scheduler --version" in package and "dask worker --version" in package


def test_dockerfile_base_image_is_pinned_slim_python(steps):
    """The base is python:<this X.Y>.<patch>-slim-<Debian release>, or by digest."""
    image = _args(steps)["PYTHON_IMAGE"]
    assert [a for k, a in steps if k == "FROM"] == ["${PYTHON_IMAGE}"]
    pattern = r"python:(\d+)\.(\d+)\.(\d+)-slim-([a-z]+)(@sha256:[0-9a-f]{64})?"
    match = re.fullmatch(pattern, image)
    assert match, image
    assert (int(match[1]), int(match[2])) == sys.version_info[:2]


def test_dockerfile_user_is_the_manifests(steps):
    """A numeric non-root user, the manifest's runAsUser and runAsGroup, under tini."""
    manifest = yaml.safe_load((DEPLOY / "dask-cluster.yaml").read_text())
    user_id = _args(steps)["USER_ID"]
    users = [a for k, a in steps if k == "USER"]
    assert users[-1] == "${USER_ID}:${USER_ID}" and int(user_id) != 0
    for role in ("scheduler", "worker"):
        context = manifest["spec"][role]["spec"]["securityContext"]
        assert context["runAsUser"] == context["runAsGroup"] == int(user_id)
    assert ("ENTRYPOINT", '["tini", "-g", "--"]') in steps
    assert _runs(steps, "apt-get install -y --no-install-recommends tini")


def _image_tree(steps, root: Path) -> set[str]:
    """Lay out what the Dockerfile copies to /opt/rltutorial under ``root``.

    Follows COPY: a folder's contents go to the destination, a file goes to it (or
    into it when it ends with ``/``). Returns the sources copied there.
    """
    copied = set()
    for sources, destination in _copies(steps):
        for source in sources:
            path = REPO / source
            assert path.exists(), f"COPY {source}: not in the repository"
            target = destination
            if path.is_file() and destination.endswith("/"):
                target = destination + path.name
            if not target.startswith(f"{IMAGE_SOURCE}/"):
                continue
            copied.add(source)
            local = root / target.removeprefix(f"{IMAGE_SOURCE}/")
            if path.is_dir():
                shutil.copytree(path, local, dirs_exist_ok=True)
            else:
                local.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, local)
    return copied


def _source_tree(root: Path) -> Path:
    """The repository's files that git does not ignore, copied under ``root``.

    The tracked files plus new ones: what ``pip install .`` of this working tree and
    ``docker build`` with it as context both see, without build leftovers.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, root / name)
    return root


def _wheel_files(source: Path, out: Path) -> set[str]:
    """Names in the wheel that ``pip wheel`` builds from ``source``."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert (
        build.returncode == 0
    ), f"no wheel from {source.name}:\n{build.stderr[-2000:]}"
    [wheel] = out.glob("rltutorial-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_dockerfile_copies_what_the_package_build_needs(steps, tmp_path):
    """The files copied to /opt/rltutorial build the wheel that ``pip install .`` gets.

    pyproject.toml's readme and licence files are among them, and the wheel built
    from exactly those files has the same contents as the one built from all of the
    repository's files (modules, data, the agent zoo, licence).
    """
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    image = tmp_path / "image"
    copied = _image_tree(steps, image)
    assert {"pyproject.toml", project["readme"], *project["license-files"]} <= copied
    in_image = _wheel_files(image, tmp_path / "image-dist")
    expected = _wheel_files(_source_tree(tmp_path / "source"), tmp_path / "dist")
    assert in_image == expected, sorted(in_image ^ expected)
    assert "rltutorial/sweep/cluster.py" in in_image
