"""Write an attack run to disk: a summary JSON and, beside it, the per-input results."""

from __future__ import annotations

from pathlib import Path

import torch

from lpcbench.attacks.suite import AttackRun
from lpcbench.io import write_json


def per_input_path(summary_path: Path) -> Path:
    return summary_path.with_name(summary_path.stem + ".per-input.json")


def write_run(summary_path: Path, run: AttackRun, indices: torch.Tensor, context: dict) -> tuple[Path, Path]:
    """Write ``<name>.json`` (summary, settings, flags, context) and ``<name>.per-input.json`` atomically."""
    summary_path = Path(summary_path)
    details_path = per_input_path(summary_path)
    per_input = {
        "index": [int(i) for i in indices],
        "misclassified": run.misclassified.tolist(),
        "success": run.success.tolist(),
        "perturbation_norm": _floats(run.perturbation_norm),
    }
    if run.relative_norm is not None:
        per_input["relative_norm"] = _floats(run.relative_norm)
        per_input["iterations"] = run.iterations.tolist()
    for name, flipped in run.per_attack_success.items():
        per_input[f"success_{name}"] = flipped.tolist()
    write_json(details_path, per_input)
    write_json(
        summary_path,
        {
            **context,
            "attack": run.settings,
            "summary": run.summary,
            "flags": run.flags,
            "wall_time_s": run.wall_time_s,
            "per_input_file": details_path.name,
        },
    )
    return summary_path, details_path


def _floats(values: torch.Tensor) -> list:
    return [float(v) if torch.isfinite(v) else None for v in values.double()]
