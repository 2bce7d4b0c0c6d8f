"""Build hook: ship the agent zoo (``models/``, ``recordings/``) inside the wheel.

The zoo lives at the repository root so that a checkout shows it plainly; a wheel
carries the same files as package data in ``rltutorial/zoo/`` (see
:mod:`rltutorial.paths`). All other settings are in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ZOO_FOLDERS = ("models", "recordings")


class BuildPyWithZoo(build_py):
    """``build_py`` that also copies the zoo folders into ``rltutorial/zoo/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # a checkout finds models/ and recordings/ itself
            return
        target = Path(self.build_lib) / "rltutorial" / "zoo"
        for name in ZOO_FOLDERS:
            source = ROOT / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing: the wheel ships the zoo")
            shutil.copytree(
                source,
                target / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(".*"),
            )


setup(cmdclass={"build_py": BuildPyWithZoo})
