"""Build hook: ship project_template/ inside the package as assets_orch/_template.

Everything else lives in pyproject.toml. The template stays at the top of the repo
(where people look for it) and `assets init` finds it in either place.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".assets", "*.duckdb", "*.duckdb.wal", "site"
)


class BuildWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        src = Path(__file__).parent / "project_template"
        dest = Path(self.build_lib) / "assets_orch" / "_template"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, ignore=IGNORE)


setup(cmdclass={"build_py": BuildWithTemplate})
