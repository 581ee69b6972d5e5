"""``lpcbench.benchmark``: measure a user's model with the zoo's protocol and rank it on the leaderboard.

The model gets the same attack suite, the same seeded test inputs, the same latent metrics and the
same certificate as the zoo's models, so that its figures are comparable with theirs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from lpcbench.leaderboard import LeaderboardEntry

logger = logging.getLogger(__name__)

CONTRACT_INPUTS = 16  # test inputs used to check the input contract and to find z
NEAR_CHANCE = 2.0  # a clean accuracy below this multiple of chance flags the entry as unreliable


@dataclass
class Ranking:
    """Ranks on every column, with notes on the entries left out of the comparison."""

    ranks: list = field(default_factory=list)  # lpcbench.evaluate.rank.Rank
    notes: list = field(default_factory=list)
    comparable: list = field(default_factory=list)  # the entries ranked against, over all seeds

    @property
    def compared(self) -> int:
        return len(self.comparable)

    def __str__(self) -> str:
        from lpcbench.evaluate.rank import format_ranks

        header = f"rank of this model among {self.compared + 1}: itself and {self.compared} comparable entries, aggregated over seeds"
        lines = [header, format_ranks(self.ranks)] if self.compared else []
        return "\n".join(lines + [f"note: {note}" for note in self.notes])


@dataclass
class BenchmarkResult(LeaderboardEntry):
    """A leaderboard entry for a user's model, as measured by ``benchmark``, with ``rank()``."""

    def rank(self, leaderboard_dir: str | Path | None = None) -> Ranking:
        """Rank against the shipped entries and those under ``leaderboard_dir`` (default: the results folder's)."""
        from lpcbench.evaluate.rank import comparable_entries, rank_against

        entries, notes = leaderboard_entries(self.dataset, leaderboard_dir)
        if self.unreliable:
            notes += [f"this entry is unreliable: {flag['message']}" for flag in self.flags if flag.get("code") == "near_chance_accuracy"]
        comparable, left_out = comparable_entries(self, entries)
        return Ranking(rank_against(self, comparable), notes + left_out, comparable)

    def entry(self) -> LeaderboardEntry:
        """This result as a plain ``LeaderboardEntry``."""
        return LeaderboardEntry(**{f.name: getattr(self, f.name) for f in fields(LeaderboardEntry)})


def benchmark(
    model: nn.Module,
    *,
    dataset: str = "digits",
    suite: str = "default",
    n: int = 1000,
    sample_seed: int = 0,
    device: str = "auto",
    penultimate: str | None = None,
    name: str | None = None,
    data_dir: str | Path | None = None,
    batch_size: int = 500,
    source: str | None = None,
) -> BenchmarkResult:
    """Attack, measure and certify ``model`` as the zoo's models are, and return its entry.

    ``model`` maps images ``x: (N, C, H, W)`` with values in [0, 1] to logits ``(N, classes)``;
    normalisation belongs inside it. ``penultimate`` names the layer whose output is z (flattened to
    (N, P)). Without it, z comes from a ``features(x)`` method returning (N, P), or else the latent
    columns stay empty and the entry gives the reason. The model is moved to ``device`` and evaluated in
    eval mode; a model found in train mode is put back in train mode at the end.
    """
    from lpcbench.bench import measure_entry, suite_attacks
    from lpcbench.data import load_dataset
    from lpcbench.data.sampling import sample_indices
    from lpcbench.evaluate.adapter import LatentAdapter
    from lpcbench.evaluate.loading import ModelContractError, check_contract
    from lpcbench.zoo.trainer import resolve_device

    if not isinstance(model, nn.Module):
        raise ModelContractError(f"expected a torch.nn.Module, got {type(model).__name__}")
    name = name or _architecture(model)
    model_id = slug(name)
    attacks = suite_attacks(suite)
    device = resolve_device(device)
    data = load_dataset(dataset, data_dir)
    indices, sample_note = sample_indices(len(data.test), n, sample_seed)

    was_training = model.training
    model.to(device)
    probe = data.test.x[indices[:CONTRACT_INPUTS]].to(device)
    try:
        contract = check_contract(model, probe, data.num_classes)
        adapter = LatentAdapter(model, probe, data.num_classes, penultimate).eval()
        entry = LeaderboardEntry(
            dataset=dataset,
            model_id=model_id,
            name=name,
            architecture=_architecture(model),
            seeds=[],
            aggregate=False,
            source=source or "submitted with lpcbench.benchmark",
            submitted=True,
        )
        provenance = {
            "model_source": source,
            "parameters_sha256": parameters_sha256(model),
            "parameter_count": sum(parameter.numel() for parameter in model.parameters()),
            "latent_source": adapter.latent_source,
            "certify_note": adapter.certify_note,
            "contract_notes": contract.notes + ([sample_note] if sample_note else []),
        }
        entry = measure_entry(adapter, entry, data, attacks=attacks, indices=indices, device=device, batch_size=batch_size, provenance=provenance)
        chance = 1.0 / data.num_classes
        if entry.clean_acc is not None and entry.clean_acc.mean is not None and entry.clean_acc.mean < NEAR_CHANCE * chance:
            entry.flags.append({
                "code": "near_chance_accuracy",
                "message": (
                    f"clean accuracy {entry.clean_acc.mean:.3f} is near chance ({chance:.3f}): robustness measured on the few "
                    "correct inputs means little; were the trained weights loaded?"
                ),
            })
            entry.unreliable = True
    finally:
        model.train(was_training)
    return BenchmarkResult(**{f.name: getattr(entry, f.name) for f in fields(LeaderboardEntry)})


def leaderboard_entries(dataset: str, leaderboard_dir: str | Path | None = None) -> tuple[list[LeaderboardEntry], list[str]]:
    """Read the shipped entries of ``dataset`` and those under ``leaderboard_dir``; return (entries, problems)."""
    from lpcbench.leaderboard import read_entries
    from lpcbench.paths import results_dir, spec_dir

    root = Path(leaderboard_dir) if leaderboard_dir is not None else results_dir() / "leaderboards"
    entries, problems = [], []
    for folder in (spec_dir("leaderboards") / dataset, root / dataset):
        if folder.is_dir():
            found, skipped = read_entries(folder)
            entries += found
            problems += [f"skipped {problem}" for problem in skipped]
    return entries, problems


def slug(name: str) -> str:
    """Return a file-safe id for a model name: lower case, runs of other characters as one '-'."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not text:
        raise ValueError(f"model name {name!r} has no letter or digit to build an id from")
    return text


def parameters_sha256(model: nn.Module) -> str:
    """sha256 over the names, dtypes, shapes and bytes of the state dict: which weights were measured."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _architecture(model: nn.Module) -> str:
    if isinstance(model, torch.jit.ScriptModule):
        return f"TorchScript {model.original_name}"
    return type(model).__name__
