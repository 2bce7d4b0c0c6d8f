"""The worker image as deploy/Dockerfile describes it (Docker itself does not run here).

Checked from the text of the Dockerfile and the files it copies: a pinned slim base
with this Python, only the runtime dependencies at the versions requirements.txt pins
(deploy/requirements-worker.txt), torch from PyTorch's CPU-only index unless
overridden, the user the manifest runs as, and a package that builds from exactly the
files the image gets.
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


def test_dockerfile_copies_what_the_package_build_needs(steps, tmp_path):
    """The files copied to /opt/rltutorial build rltutorial with all its modules.

    pyproject.toml's readme and licence files are among them; the wheel built from
    exactly those files holds every module and data file of the package.
    """
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    tree = tmp_path / "opt" / "rltutorial"
    tree.mkdir(parents=True)
    copied = set()
    for sources, destination in _copies(steps):
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            if destination.rstrip("/") == "/opt/rltutorial":
                copied.add(source)
                target = tree / Path(source).name
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, target)
                else:
                    shutil.copy(REPO / source, target)
            elif destination == "/opt/rltutorial/rltutorial":
                copied.add(source)
                shutil.copytree(REPO / source, tree / "rltutorial")
    assert {"pyproject.toml", project["readme"], *project["license-files"]} <= copied
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(tree)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("rltutorial-*.whl")
    built = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "rltutorial"
    expected = {
        path.relative_to(REPO).as_posix()
        for path in [*package.rglob("*.py"), *(package / "data").glob("*")]
        if "__pycache__" not in path.parts
    }
    assert expected <= built, sorted(expected - built)
