"""The Binder image as repo2docker builds it, checked without Docker.

Binder turns the repository into an image with repo2docker, which reads ``binder/``
only. A fresh virtual environment (in the test's temporary folder) gets the
repo2docker release Binder runs, and ``repo2docker --no-build --debug`` prints the
Python version it chose and the Dockerfile it would build, which needs no Docker
daemon. The tests then check, for that Python version, that every pinned requirement
of the files its ``pip install`` lines name has a file on the indexes Binder's pip
reads (pip's rules: ``Requires-Python`` and the wheel tags of the image's interpreter
and platform; one test checks the result against ``pip index versions``), that the
package admits that Python, and that ``postBuild`` and ``start`` do what the README
says: install the package, and send the Dask dashboard and TensorBoard through the
Jupyter server's proxy.

Needs PyPI; skipped, saying so, where it cannot be reached.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
REPO2DOCKER = "jupyter-repo2docker==2026.4.0"
#: The index pip reads when a requirement file names no ``--index-url``.
PYPI = "https://pypi.org/simple"
#: Platform tags of repo2docker's image (Ubuntu 24.04, glibc 2.39, x86_64), newest
#: first: pip's finder judges wheels for the image, not for the machine running this.
IMAGE_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(39, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
#: pip settings that add package sources Binder does not have (a local wheel folder,
#: a mirror, a constraints file); the finder runs without them and without config files.
PIP_SOURCE_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_CONSTRAINT",
)


pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="repo2docker images and the binder/ scripts are Linux",
)


def _reachable(url: str) -> bool:
    """Whether ``url`` answers within a few seconds (any HTTP status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def repo2docker(tmp_path_factory) -> dict[str, str]:
    """Install repo2docker into a fresh venv and run ``--no-build --debug`` on the repo.

    The venv is made without pip of its own (which saves seconds); the test
    environment's pip installs into it.

    Returns
    -------
    dict
        ``log``: repo2docker's log (its choices, on stderr); ``dockerfile``: the
        Dockerfile it would build (on stdout).
    """
    venv = tmp_path_factory.mktemp("repo2docker") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
         "install", "--quiet", "--disable-pip-version-check", REPO2DOCKER],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if installed.returncode != 0:
        if not _reachable(f"{PYPI}/jupyter-repo2docker/"):
            pytest.skip(f"PyPI is unreachable, so {REPO2DOCKER} cannot be installed")
        pytest.fail(f"pip install {REPO2DOCKER} failed:\n{installed.stderr[-3000:]}")
    run = subprocess.run(
        [str(venv / "bin" / "repo2docker"), "--no-build", "--debug", str(REPO)],
        cwd=venv, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return {"log": run.stderr, "dockerfile": run.stdout}


def _chosen_python(log: str) -> str:
    """The Python version (``"x.y"``) repo2docker builds its environment for."""
    found = re.search(r"Building conda environment for python=(\d+\.\d+)", log)
    assert found, f"repo2docker names no Python version:\n{log}"
    return found.group(1)


def _requirement_files(dockerfile: str) -> list[Path]:
    """The files that the Dockerfile's ``pip install -r`` lines install, in order."""
    files = []
    for line in dockerfile.splitlines():
        if line.startswith("RUN ") and re.search(r"\bpip install ", line):
            words = shlex.split(line.removeprefix("RUN "))
            files += [REPO / words[i + 1] for i, w in enumerate(words) if w == "-r"]
    return files


def _read_requirements(path: Path) -> tuple[list[Requirement], list[str]]:
    """Requirements and extra index URLs of a pip requirements file, ``-r`` followed.

    Parameters
    ----------
    path : Path
        The file; nested ``-r`` paths are relative to the file naming them, as pip
        reads them.

    Returns
    -------
    tuple of (list of Requirement, list of str)
        Every requirement line, and the URLs of ``--extra-index-url`` options.

    Raises
    ------
    ValueError
        For an option this reader does not know (so that nothing is silently left
        unchecked).
    """
    requirements, indexes = [], []
    for raw in path.read_text().splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        option = re.fullmatch(r"(-[\w-]+)(?:\s*=\s*|\s+)?(.*)", line)
        name, value = option.groups() if option else ("", "")
        if name in ("-r", "--requirement"):
            nested, nested_indexes = _read_requirements(path.parent / value)
            requirements += nested
            indexes += nested_indexes
        elif name == "--extra-index-url":
            indexes.append(value)
        elif name:
            raise ValueError(f"{path}: option {name!r} is not understood here: {raw!r}")
        else:
            requirements.append(Requirement(line))
    return requirements, indexes


class _IndexPage(HTMLParser):
    """The files a simple-index project page (PEP 503) lists.

    ``files`` holds, per file: its name, its ``Requires-Python`` (``None`` if not
    given) and whether it is yanked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str | None, bool]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Record an ``<a>`` link: the file name is the last part of its path."""
        if tag == "a":
            found = dict(attrs)
            path = urllib.parse.urlsplit(found.get("href") or "").path
            name = urllib.parse.unquote(path.rsplit("/", 1)[-1])
            self.files.append((name, found.get("data-requires-python"),
                               "data-yanked" in found))  # fmt: skip


def _image_tags(version: str) -> set[Tag]:
    """Wheel tags the image's CPython ``version`` (``"x.y"``) installs, as pip has them."""
    info = tuple(int(part) for part in version.split("."))
    interpreter = f"cp{info[0]}{info[1]}"
    return set(cpython_tags(info, platforms=IMAGE_PLATFORMS)) | set(
        compatible_tags(info, interpreter, IMAGE_PLATFORMS)
    )


def _file_version(filename: str, tags: set[Tag]) -> Version | None:
    """The version a file installs on the image, or ``None`` if it installs nothing.

    A wheel counts if one of its tags is among ``tags``; a source archive counts
    always (pip builds it); other files (eggs, installers) and names that are not
    PEP 440 do not count.
    """
    try:
        if filename.endswith(".whl"):
            _, version, _, file_tags = parse_wheel_filename(filename)
            return version if file_tags & tags else None
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return None


def _offered_versions(index: str, name: str, version: str) -> set[Version]:
    """Versions of ``name`` on ``index`` that install on the image's Python ``version``.

    The same rules as pip's finder (``pip index versions --python-version``): a file
    counts if its ``Requires-Python`` admits ``version`` (as ``x.y.0``, as pip takes
    ``--python-version x.y``), it is not yanked, and it is a source archive or a wheel
    for the image's interpreter and platform.

    Parameters
    ----------
    index : str
        Simple-index URL, e.g. ``https://pypi.org/simple``.
    name : str
        Project name.
    version : str
        Python version, ``"x.y"``.

    Returns
    -------
    set of Version
        Empty if the index does not have the project.
    """
    url = f"{index.rstrip('/')}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            page = response.read().decode()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return set()
        raise
    listing = _IndexPage()
    listing.feed(page)
    python, tags, offered = Version(f"{version}.0"), _image_tags(version), set()
    for filename, requires, yanked in listing.files:
        try:
            admitted = requires is None or python in SpecifierSet(requires)
        except InvalidSpecifier:  # pip ignores a malformed Requires-Python too
            admitted = True
        found = _file_version(filename, tags) if admitted and not yanked else None
        if found is not None:
            offered.add(found)
    return offered


def _pip_offered_versions(name: str, version: str) -> set[Version]:
    """What ``pip index versions --pre`` lists for ``name`` on PyPI for the image.

    Runs without pip's configuration files and source settings, so that only PyPI
    counts (no local wheel folder or mirror).
    """
    env = {k: v for k, v in os.environ.items() if k not in PIP_SOURCE_SETTINGS}
    env["PIP_CONFIG_FILE"] = os.devnull
    command = [sys.executable, "-m", "pip", "index", "versions", name, "--pre",
               "--python-version", version, "--index-url", PYPI,
               "--disable-pip-version-check"]  # fmt: skip
    command += [arg for tag in IMAGE_PLATFORMS for arg in ("--platform", tag)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        assert "No matching distribution" in done.stderr, done.stderr[-2000:]
        return set()
    listed = re.search(r"^Available versions: (.*)$", done.stdout, re.MULTILINE)
    assert listed, done.stdout
    return {Version(v) for v in listed.group(1).split(", ")}


def _public_pins(specifiers: SpecifierSet) -> SpecifierSet:
    """``specifiers`` with local version labels dropped (``==2.13.0+cpu`` -> ``==2.13.0``)."""
    return SpecifierSet(",".join(re.sub(r"\+[\w.]+$", "", str(s)) for s in specifiers))


def _unmet_requirements(version: str, files: list[Path]) -> list[str]:
    """Requirements in ``files`` that no offered file satisfies for Python ``version``.

    Requirements of one project in several files are combined, as pip combines them
    (``torch==2.13.0+cpu`` and ``torch==2.13.0`` allow only ``2.13.0+cpu``).
    """
    specifiers: dict[str, SpecifierSet] = {}
    indexes = [PYPI]
    environment = {**default_environment(), "python_version": version,
                   "python_full_version": f"{version}.0", "sys_platform": "linux",
                   "platform_system": "Linux", "platform_machine": "x86_64"}  # fmt: skip
    for path in files:
        requirements, extra = _read_requirements(path)
        indexes += [url for url in extra if url not in indexes]
        for req in requirements:
            if req.marker is None or req.marker.evaluate(environment):
                name = canonicalize_name(req.name)
                specifiers[name] = specifiers.get(name, SpecifierSet()) & req.specifier
    # An index that cannot be reached from here (a runner that reaches PyPI only does
    # not reach the PyTorch index) is left out; its local builds (torch==2.13.0+cpu)
    # are then checked by their public release on PyPI, built from the same source for
    # the same Pythons.
    reachable = [url for url in indexes[1:] if _reachable(url)]
    if len(reachable) < len(indexes) - 1:
        specifiers = {name: _public_pins(spec) for name, spec in specifiers.items()}
    indexes = [PYPI, *reachable]

    def offered_anywhere(name: str) -> set[Version]:
        return set().union(*(_offered_versions(i, name, version) for i in indexes))

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = pool.map(offered_anywhere, specifiers)
        offered = dict(zip(specifiers, found, strict=True))
    unmet = []
    for name, spec in sorted(specifiers.items()):
        if not any(spec.contains(v, prereleases=True) for v in offered[name]):
            newest = max(offered[name], default=None)
            unmet.append(f"{name}{spec} (newest for Python {version}: {newest})")
    return unmet


def test_repo2docker_takes_the_python_version_from_binder(repo2docker):
    """repo2docker builds for the Python of ``binder/runtime.txt``, not its default."""
    log = repo2docker["log"]
    assert "Python version unspecified" not in log, log
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert _chosen_python(log) == runtime.removeprefix("python-"), log


def test_the_package_admits_the_binder_python(repo2docker):
    """``requires-python`` in pyproject.toml admits the Python Binder builds for."""
    version = _chosen_python(repo2docker["log"])
    with open(REPO / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    assert Version(version) in SpecifierSet(requires), (version, requires)


def test_every_binder_requirement_installs_on_the_binder_python(repo2docker):
    """Each pin that repo2docker's ``pip install`` lines install exists for its Python.

    For every project the files name, the versions that have a file for the chosen
    Python on the image's platform (``Requires-Python`` and wheel tags both count) are
    listed; the pinned version must be among them.
    """
    version = _chosen_python(repo2docker["log"])
    files = _requirement_files(repo2docker["dockerfile"])
    assert BINDER / "requirements.txt" in files, repo2docker["dockerfile"]
    unmet = _unmet_requirements(version, files)
    assert not unmet, (
        f"repo2docker builds Binder's image for Python {version}, for which the "
        f"indexes have no file of: " + "; ".join(unmet)
    )


def test_the_finder_agrees_with_pip(repo2docker):
    """For numpy on the Binder Python, the versions found are those pip lists.

    numpy's releases differ in ``Requires-Python`` and in wheel tags, the two rules the
    requirement check applies; ``pip index versions`` applies pip's own finder.
    """
    version = _chosen_python(repo2docker["log"])
    ours = _offered_versions(PYPI, "numpy", version)
    assert ours, f"no numpy for Python {version}"
    assert ours == _pip_offered_versions("numpy", version)


def test_repo2docker_runs_the_binder_scripts(repo2docker):
    """The Dockerfile runs ``postBuild`` at build time and ``start`` at every launch."""
    lines = repo2docker["dockerfile"].splitlines()
    assert "RUN ./binder/postBuild" in lines
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in lines


def test_binder_installs_cpu_only_torch():
    """Binder's torch is the CPU build from the PyTorch CPU index (a small image)."""
    requirements, indexes = _read_requirements(BINDER / "requirements.txt")
    pins = [str(r.specifier) for r in requirements if r.name == "torch"]
    assert any(pin.startswith("==") and pin.endswith("+cpu") for pin in pins), pins
    assert "https://download.pytorch.org/whl/cpu" in indexes


def test_requirement_reader_follows_files_and_refuses_unknown_options(tmp_path):
    """``-r`` is read relative to its file; an unknown option is an error, not a skip."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "base.txt").write_text("numpy==2.4.6  # pinned\n")
    (tmp_path / "sub" / "top.txt").write_text(
        "--extra-index-url https://example.org/simple\ntorch==2.13.0+cpu\n-r ../base.txt\n"
    )
    requirements, indexes = _read_requirements(tmp_path / "sub" / "top.txt")
    assert [str(r) for r in requirements] == ["torch==2.13.0+cpu", "numpy==2.4.6"]
    assert indexes == ["https://example.org/simple"]
    (tmp_path / "odd.txt").write_text("--find-links /somewhere\n")
    with pytest.raises(ValueError, match="--find-links"):
        _read_requirements(tmp_path / "odd.txt")
    assert str(_public_pins(SpecifierSet("==2.13.0+cpu"))) == "==2.13.0"
