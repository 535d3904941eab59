"""Build hook only (the metadata is in pyproject.toml): puts resources/ into the package.

The icon masters live in the top-level resources/ folder. Wheels must carry them inside
the package, as compass_listener/resources/, where store/assets.py finds them with
importlib.resources (the PyInstaller spec does the same for the bundle).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        source = ROOT / "resources" / "icons"
        target = Path(self.build_lib) / "compass_listener" / "resources" / "icons"
        if source.is_dir() and not self.dry_run:
            shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithResources})
