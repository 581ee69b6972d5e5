"""Where lpcbench reads its shipped specs and writes user output.

Shipped specs (``zoo/``, ``attacks/``, ``leaderboards/``) are read-only package
data; trained models and results go to per-user folders chosen by platformdirs,
each overridable by a flag and an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "lpcbench"
ZOO_DIR_ENV = "LPCBENCH_ZOO_DIR"
RESULTS_DIR_ENV = "LPCBENCH_RESULTS_DIR"
SPEC_KINDS = ("zoo", "attacks", "leaderboards")


def spec_dir(kind: str) -> Path:
    """Return the folder of shipped specs of one kind (``zoo``, ``attacks`` or ``leaderboards``).

    A wheel carries the specs inside the package under ``_specs/``; a source
    checkout or an editable install reads them from the repository's top level.
    """
    if kind not in SPEC_KINDS:
        raise ValueError(f"unknown spec kind {kind!r}: expected one of {', '.join(SPEC_KINDS)}")
    package_root = Path(__file__).resolve().parent
    installed = package_root / "_specs" / kind
    if installed.is_dir():
        return installed
    return package_root.parent / kind


def zoo_dir(override: str | os.PathLike | None = None) -> Path:
    """Return the folder of trained models: the override, then ``$LPCBENCH_ZOO_DIR``, then the user cache."""
    return _user_dir(override, ZOO_DIR_ENV, Path(platformdirs.user_cache_dir(APP_NAME)) / "zoo")


def results_dir(override: str | os.PathLike | None = None) -> Path:
    """Return the folder of results: the override, then ``$LPCBENCH_RESULTS_DIR``, then the user data folder."""
    return _user_dir(override, RESULTS_DIR_ENV, Path(platformdirs.user_data_dir(APP_NAME)) / "results")


def _user_dir(override: str | os.PathLike | None, env_name: str, default: Path) -> Path:
    if override is not None and str(override) != "":
        return Path(override).expanduser()
    from_env = os.environ.get(env_name, "")
    if from_env:
        return Path(from_env).expanduser()
    return default
