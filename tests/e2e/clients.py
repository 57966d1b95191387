"""Build sample projects and run the real clients with isolated configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PASSWORD = "e2e-upload-Passw0rd-not-common"


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """No inherited pip/uv/poetry/twine configuration, a private HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "POETRY_", "TWINE_", "FLIT_", "STRONGROOM_"))
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        PIP_CONFIG_FILE="/dev/null",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(home / "uv-cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        POETRY_CONFIG_DIR=str(home / "poetry-config"),
        POETRY_CACHE_DIR=str(home / "poetry-cache"),
        PYTHONPATH="",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


def write_flit_project(
    root: Path, name: str, version: str, dependencies: tuple[str, ...] = ()
) -> Path:
    """A minimal flit_core project; the module reports its own version."""
    module = name.replace("-", "_")
    project = root / f"{name}-{version}"
    (project / module).mkdir(parents=True, exist_ok=True)
    (project / module / "__init__.py").write_text(
        f'"""Sample package for Strongroom tests."""\n__version__ = "{version}"\n'
    )
    (project / "README.md").write_text(f"# {name}\n\nVersion {version}, *rendered*.\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["flit_core>=3.4"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "{name}"
            version = "{version}"
            description = "A sample package"
            readme = "README.md"
            requires-python = ">=3.8"
            dependencies = {list(dependencies)!r}
            """
        ).replace("'", '"')
    )
    return project


def build(project: Path, env: dict[str, str]) -> list[Path]:
    """``python -m build --no-isolation``: a wheel and an sdist."""
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", "dist", "."], env, project)
    return sorted((project / "dist").iterdir())


def installed_version(target: Path, module: str) -> str:
    text = (target / module / "__init__.py").read_text()
    return text.split('__version__ = "')[1].split('"')[0]
