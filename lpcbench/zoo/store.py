"""The model store: one folder per training run with safetensors weights, a JSON model card,
and, while training, a checkpoint to resume from.

Layout under the zoo folder::

    <dataset>/<model_id>/seed<S>-lr<LR>-<hash12>/model.safetensors, model.json, checkpoint.pt
    <dataset>/<model_id>/seed<S>.json   the run selected on validation among the learning rates
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lpcbench.io import atomic_write, write_json
from lpcbench.zoo.config import TrainConfig
from lpcbench.zoo.model import ZooModel
from lpcbench.zoo.registry import get_variant

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model.json"
CHECKPOINT_FILE = "checkpoint.pt"


class CheckpointError(RuntimeError):
    """Raised for a corrupt or mismatched checkpoint or weights file; the message names the file."""


def run_name(config: TrainConfig) -> str:
    return f"seed{config.seed}-lr{config.lr:.3g}-{config.config_hash()[:12]}"


def run_dir_for(zoo_dir: Path, config: TrainConfig) -> Path:
    return Path(zoo_dir) / config.dataset / config.model_id / run_name(config)


def selection_path(zoo_dir: Path, dataset: str, model_id: str, seed: int) -> Path:
    return Path(zoo_dir) / dataset / model_id / f"seed{seed}.json"


def build_model(config: TrainConfig, dataset_info: dict) -> ZooModel:
    """Build the untrained model of ``config`` for a dataset described by ``dataset_info``.

    ``dataset_info`` contains ``input_shape``, ``num_classes``, ``mean`` and ``std``,
    as stored in every model card.
    """
    return ZooModel(
        get_variant(config.model_id),
        backbone=config.backbone,
        input_shape=tuple(dataset_info["input_shape"]),
        num_classes=int(dataset_info["num_classes"]),
        penultimate_width=config.penultimate_width,
        mean=dataset_info["mean"],
        std=dataset_info["std"],
        backbone_width=config.backbone_width,
        backbone_norm=config.backbone_norm,
        eval_scale=config.margin_scale[1],
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(run_dir: Path, model: ZooModel, card: dict) -> dict:
    """Write the weights and then the card (with the weights' sha256) atomically; return the card."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    atomic_write(run_dir / WEIGHTS_FILE, lambda tmp: save_file(state, str(tmp)))
    card = dict(card, weights_sha256=file_sha256(run_dir / WEIGHTS_FILE))
    write_json(run_dir / CARD_FILE, card)
    return card


def read_card(run_dir: Path) -> dict | None:
    """Return the model card of a finished run, or None where the run has not finished."""
    path = Path(run_dir) / CARD_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"model card {path} is not valid JSON ({error}); delete the run folder to retrain") from None


def load_model(run_dir: Path, device: str | torch.device = "cpu") -> tuple[ZooModel, dict]:
    """Load a finished run's model in eval mode, checking the weights against the card's sha256."""
    run_dir = Path(run_dir)
    card = read_card(run_dir)
    if card is None:
        raise CheckpointError(f"no model card at {run_dir / CARD_FILE}: the run has not finished")
    weights = run_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"weights file {weights} is missing; delete {run_dir} to retrain")
    actual = file_sha256(weights)
    if actual != card.get("weights_sha256"):
        raise CheckpointError(
            f"weights file {weights} does not match its card: sha256 {actual[:16]}..., "
            f"card says {str(card.get('weights_sha256'))[:16]}...; delete {run_dir} to retrain"
        )
    model = build_model(TrainConfig.from_dict(card["config"]), card["dataset_info"])
    try:
        model.load_state_dict(load_file(str(weights)))
    except Exception as error:  # safetensors and torch raise several types for a bad file
        raise CheckpointError(f"cannot load weights file {weights}: {error}") from None
    return model.to(device).eval(), card


def save_checkpoint(run_dir: Path, payload: dict) -> None:
    atomic_write(Path(run_dir) / CHECKPOINT_FILE, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(run_dir: Path, config_hash: str) -> dict | None:
    """Return the checkpoint of an unfinished run, or None where there is none.

    Loaded with ``weights_only=True``, so a checkpoint cannot run code. A file
    that cannot be read, or that belongs to another config, raises
    ``CheckpointError`` and is left as it is.
    """
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a checkpoint ({type(error).__name__}); "
            "delete it to restart this run from scratch"
        ) from None
    if not isinstance(payload, dict) or payload.get("config_hash") != config_hash:
        found = payload.get("config_hash") if isinstance(payload, dict) else None
        raise CheckpointError(
            f"checkpoint {path} belongs to config {str(found)[:12]}, not {config_hash[:12]}; "
            "delete it to restart this run from scratch"
        )
    return payload


def remove_checkpoint(run_dir: Path) -> None:
    (Path(run_dir) / CHECKPOINT_FILE).unlink(missing_ok=True)


def git_commit() -> str | None:
    """Return the commit of the lpcbench source tree, or None outside a git checkout."""
    source = Path(__file__).resolve().parents[2]
    if not (source / ".git").exists():
        return None
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def list_runs(zoo_dir: Path, dataset: str) -> dict[str, list[dict]]:
    """Return, per model id, the selection records (one per trained seed) found under the zoo folder."""
    root = Path(zoo_dir) / dataset
    found: dict[str, list[dict]] = {}
    if not root.is_dir():
        return found
    for model_folder in sorted(p for p in root.iterdir() if p.is_dir()):
        records = []
        for path in sorted(model_folder.glob("seed*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, UnicodeDecodeError):
                records.append({"seed": path.stem.removeprefix("seed"), "error": f"unreadable selection file {path}"})
        found[model_folder.name] = records
    return found
