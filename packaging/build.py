"""Builds the one-folder bundle: `python packaging/build.py` (any OS; run it on the target OS).

Checks the icon PNGs against their master, runs PyInstaller on packaging/compass-listener.spec
into build/pyinstaller and dist/, smoke-tests the result with `--version`, and prints the
bundle's path, size and build time. Needs the `build` extra: pip install -e ".[build]".
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "compass-listener.spec"


def bundle_dir(dist: Path) -> Path:
    return dist / "compass-listener"


def bundle_executable(dist: Path, cli: bool = True) -> Path:
    """The executable to run commands with (on Windows the console one)."""
    name = "compass-listener-cli.exe" if cli and os.name == "nt" else (
        "compass-listener.exe" if os.name == "nt" else "compass-listener")
    return bundle_dir(dist) / name


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(dist: Path, work: Path, clean: bool = True) -> Path:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit('build: PyInstaller is not installed; run: pip install -e ".[build]"')
    check = subprocess.run([sys.executable, str(ROOT / "packaging" / "make_icons.py"), "--check"])
    if check.returncode:
        raise SystemExit("build: the icon PNGs are out of date (see above)")
    argv = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
            "--distpath", str(dist), "--workpath", str(work), "--log-level", "WARN"]
    if clean:
        argv.append("--clean")
    subprocess.run(argv, check=True, cwd=ROOT)
    exe = bundle_executable(dist)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
    if version.returncode != 0:
        raise SystemExit(f"build: the bundle does not start:\n{version.stdout}{version.stderr}")
    print(f"build: {version.stdout.strip()}")
    return exe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work folder (build/pyinstaller)")
    parser.add_argument("--no-clean", action="store_true", help="reuse PyInstaller's cache")
    args = parser.parse_args(argv)
    if bundle_dir(args.dist).exists():
        shutil.rmtree(bundle_dir(args.dist))
    started = time.monotonic()
    exe = build(args.dist.resolve(), args.work.resolve(), clean=not args.no_clean)
    seconds = time.monotonic() - started
    size = folder_size(bundle_dir(args.dist))
    print(f"build: bundle {bundle_dir(args.dist)} ({size / 1e6:.0f} MB), "
          f"built in {seconds:.0f} s; run {exe}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
