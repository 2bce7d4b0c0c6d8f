"""Export the workshop notebooks as reveal.js slideshows that work offline.

Each notebook becomes ``OUTPUT_DIR/<notebook>.slides.html`` (slide types from the cells'
metadata, saved outputs used as they are: nothing is re-run). Everything the pages load
(reveal.js, MathJax, require.js, jQuery, the theme's fonts) is copied to
``OUTPUT_DIR/assets/`` and linked by relative paths, so the folder can be zipped, moved
and opened anywhere without a network. Widgets, which need a running kernel, appear as
the picture and caption stored with them. The libraries come from the npm registry
(``npm pack``, so npm is needed on the first run) and are kept in a cache folder.

Usage::

    python scripts/export_slides.py [OUTPUT_DIR] [--notebook PATH ...] [--cache DIR]

Defaults: ``build/slides``, every notebook in ``notebooks/``, the user cache folder of
rltutorial (``$RLTUTORIAL_SLIDES_CACHE`` overrides it). The exit status is 1 when a page
would still load anything from the network.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["ASSETS", "export_notebook", "external_urls", "fetch_package", "main"]

ROOT = Path(__file__).resolve().parent.parent
#: npm package -> (version, files and folders copied to assets/<package>-<version>/).
#: reveal.js 4 and MathJax 2 are the major versions nbconvert's reveal template is written
#: for (``Reveal.initialize`` with plugins, ``MathJax.Hub``); require.js is the version
#: it names; jQuery 2.0.3, which it names, is not on npm, so the page gets 3.7.1.
ASSETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reveal.js": (
        "4.0.2",
        (
            "LICENSE",
            "dist/reveal.js",
            "dist/reveal.css",
            "dist/theme/simple.css",
            "plugin/notes",
        ),
    ),
    "mathjax": (
        "2.7.7",
        (
            "LICENSE",
            "MathJax.js",
            "config/TeX-AMS_CHTML-full.js",
            "config/Safe.js",
            "extensions",
            "jax/input/TeX",
            "jax/element",
            "jax/output/CommonHTML",
            "fonts/HTML-CSS/TeX/woff",
            "localization/en",
        ),
    ),
    "requirejs": ("2.1.10", ("require.js",)),
    "jquery": ("3.7.1", ("LICENSE.txt", "dist/jquery.min.js")),
    "@fontsource/news-cycle": (
        "5.3.0",
        ("LICENSE", "latin-400.css", "latin-700.css", "files"),
    ),
    "@fontsource/lato": (
        "5.3.0",
        (
            "LICENSE",
            "latin-400.css",
            "latin-700.css",
            "latin-400-italic.css",
            "latin-700-italic.css",
            "files",
        ),
    ),
}
#: The reveal theme nbconvert uses; it imports its two fonts from a font service, which
#: the copy replaces with these local style sheets (font name -> package, files).
THEME = "dist/theme/simple.css"
THEME_FONTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "News+Cycle": ("@fontsource/news-cycle", ("latin-400.css", "latin-700.css")),
    "Lato": (
        "@fontsource/lato",
        (
            "latin-400.css",
            "latin-700.css",
            "latin-400-italic.css",
            "latin-700-italic.css",
        ),
    ),
}
#: The reveal template without its diagram library (loaded as a module from a CDN and
#: unused by the workshop notebooks).
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_REMOTE = r"""((?:https?:)?//[^"')\s>]+)"""
_EXTERNAL = re.compile(
    rf"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?{_REMOTE}"""
    rf"""|\bimport\b[^'";]*?["']{_REMOTE}["']"""
    rf"""|\burl\(\s*["']?{_REMOTE}""",
    re.IGNORECASE,
)
_FONT_IMPORT = re.compile(
    r"@import url\(https://fonts\.googleapis\.com/css\?family=([^:)]+)[^)]*\);"
)


def default_cache() -> Path:
    """Where downloaded packages are kept between exports."""
    if "RLTUTORIAL_SLIDES_CACHE" in os.environ:
        return Path(os.environ["RLTUTORIAL_SLIDES_CACHE"])
    from platformdirs import user_cache_path

    return user_cache_path("rltutorial") / "slides"


def fetch_package(name: str, version: str, cache: Path) -> Path:
    """The unpacked npm package ``name@version`` in ``cache`` (fetched with npm once)."""
    folder = cache / _folder_name(name, version)
    if (folder / "package.json").is_file():
        return folder
    if shutil.which("npm") is None:
        raise RuntimeError(
            f"npm is needed once to fetch {name}@{version} into {cache}."
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        packed = subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--pack-destination", scratch],
            capture_output=True,
            text=True,
        )
        if packed.returncode != 0:
            raise RuntimeError(
                f"npm pack {name}@{version} failed:\n{packed.stderr[-2000:]}"
            )
        (tarball,) = Path(scratch).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(scratch, filter="data")
        try:
            (Path(scratch) / "package").rename(folder)
        except OSError:  # another export unpacked it meanwhile
            if not (folder / "package.json").is_file():
                raise
    return folder


def _folder_name(name: str, version: str) -> str:
    """``@fontsource/lato``, ``5.3.0`` -> ``fontsource-lato-5.3.0``."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}"


def copy_assets(out: Path, cache: Path) -> dict[str, str]:
    """Copy the libraries to ``out/assets``; returns their paths relative to ``out``."""
    relative = {}
    for name, (version, parts) in ASSETS.items():
        source = fetch_package(name, version, cache)
        target = out / "assets" / _folder_name(name, version)
        if target.exists():
            shutil.rmtree(target)
        for part in parts:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            if (source / part).is_dir():
                shutil.copytree(source / part, target / part)
            else:
                shutil.copy2(source / part, target / part)
        relative[name] = target.relative_to(out).as_posix()
    _use_local_fonts(out / relative["reveal.js"] / THEME, out, relative)
    return relative


def _use_local_fonts(theme: Path, out: Path, relative: dict[str, str]) -> None:
    """Point the theme's font imports at the local copies of the fonts."""

    def local(match: re.Match) -> str:
        package, sheets = THEME_FONTS[match.group(1)]
        up = os.path.relpath(out / relative[package], theme.parent)
        return "\n".join(
            f"@import url({Path(up, sheet).as_posix()});" for sheet in sheets
        )

    text = theme.read_text(encoding="utf-8")
    theme.write_text(_FONT_IMPORT.sub(local, text), encoding="utf-8")


def without_widgets(notebook):
    """A copy without widget state and widget views that have another form to show.

    Widgets need a kernel (or a widget library from a CDN); their saved pictures and
    captions are shown instead.
    """
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if _WIDGET_VIEW in data and len(data) > 1:
                del data[_WIDGET_VIEW]
    return notebook


def _exporter(assets: dict[str, str]):
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_url_prefix = assets["reveal.js"]
    config.SlidesExporter.mathjax_url = (
        f"{assets['mathjax']}/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    )
    config.SlidesExporter.require_js_url = f"{assets['requirejs']}/require.js"
    config.SlidesExporter.jquery_url = f"{assets['jquery']}/dist/jquery.min.js"
    config.SlidesExporter.template_file = "rltutorial_slides.html.j2"
    loader = DictLoader({"rltutorial_slides.html.j2": TEMPLATE})
    return SlidesExporter(config=config, extra_loaders=[loader])


def export_notebook(path: Path, out: Path, exporter) -> Path:
    """Write ``out/<notebook>.slides.html`` for the notebook at ``path``."""
    import nbformat

    notebook = without_widgets(nbformat.read(path, as_version=4))
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)}}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    target = out / f"{path.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def external_urls(page: str) -> list[str]:
    """Addresses on the network that ``page`` loads scripts, styles or modules from."""
    return [
        next(group for group in match.groups() if group)
        for match in _EXTERNAL.finditer(page)
    ]


def main(argv: list[str] | None = None) -> int:
    """Export the notebooks; print one written path per line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=ROOT / "build/slides")
    parser.add_argument("--notebook", action="append", type=Path, dest="notebooks")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print("No notebooks found in notebooks/.", file=sys.stderr)
        return 1
    args.output.mkdir(parents=True, exist_ok=True)
    exporter = _exporter(copy_assets(args.output, args.cache or default_cache()))
    status = 0
    for notebook in notebooks:
        target = export_notebook(notebook, args.output, exporter)
        print(target)
    for page in [*args.output.glob("*.html"), *args.output.glob("assets/**/*.css")]:
        if urls := external_urls(page.read_text(encoding="utf-8")):
            print(f"{page} still loads from the network: {urls}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
