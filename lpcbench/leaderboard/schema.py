"""The leaderboard entry: one JSON file per (model, seed) or per aggregate over seeds.

Names follow RobustBench where the meaning is the same (name, architecture, dataset, clean_acc,
reported, additional_data, number_forward_passes, footnote, unreliable, external). Unlike RobustBench,
accuracies are fractions in [0, 1], undefined values are null (never NaN), every entry carries a
``schema_version``, and measured figures are ``Statistic`` objects: a mean, a std over seeds (null for
one seed) and the number of seeds.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from lpcbench.io import write_json

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("entry.schema.json")


@dataclass
class Statistic:
    """A figure over one or more training seeds."""

    mean: float | None
    std: float | None = None  # population std over seeds; None for a single seed
    n: int = 1


@dataclass
class LeaderboardEntry:
    """One row of the leaderboard. See ``entry.schema.json`` for every field's type."""

    dataset: str
    model_id: str
    name: str
    architecture: str
    seeds: list[int]  # the training seeds behind the figures; one for a per-seed entry
    aggregate: bool  # True when the figures are mean and std over ``seeds``
    source: str  # e.g. "lpcbench zoo" or the publication the figures were taken from
    reported: bool = False  # figures taken from a publication, not measured by lpcbench
    submitted: bool = False  # a user's model, not a zoo model
    clean_acc: Statistic | None = None
    deepfool: dict = field(default_factory=dict)  # relative_norm (Statistic), success_rate, failures, measurement_space, mode ...
    best_known_minimum: dict | None = None
    robust_accuracy: list = field(default_factory=list)  # one dict per attack: attack, norm, eps, robust_acc, version
    latent: dict = field(default_factory=dict)  # metric name -> Statistic
    certificate: dict | None = None
    flags: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    footnote: str | None = None
    unreliable: bool = False
    external: bool = False
    additional_data: bool = False
    number_forward_passes: int = 1
    error: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return _clean(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "LeaderboardEntry":
        validate(data)
        values = {f.name: data.get(f.name) for f in fields(cls) if f.name in data}
        if values.get("clean_acc") is not None:
            values["clean_acc"] = Statistic(**values["clean_acc"])
        return cls(**values)


class EntryError(ValueError):
    """Raised for an entry file that is not valid JSON or does not match the schema; names the file."""


def validate(data: dict) -> None:
    """Raise ``EntryError`` if ``data`` does not match the entry schema of this lpcbench version."""
    import jsonschema

    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise EntryError(f"schema_version {version!r} is not supported: this lpcbench reads version {SCHEMA_VERSION}")
    try:
        jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    except jsonschema.ValidationError as error:
        location = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise EntryError(f"invalid entry at {location}: {error.message}") from None


def write_entry(path: Path, entry: LeaderboardEntry) -> None:
    """Validate and write one entry atomically."""
    data = entry.to_dict()
    validate(data)
    write_json(path, data)


def read_entries(folder: Path) -> tuple[list[LeaderboardEntry], list[str]]:
    """Read every ``*.json`` entry below ``folder``; return (entries, problems).

    A malformed file is reported by name in ``problems`` and skipped, never silently used.
    """
    entries, problems = [], []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            entries.append(LeaderboardEntry.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            problems.append(f"{path}: not valid JSON ({error})")
        except (EntryError, TypeError) as error:
            problems.append(f"{path}: {error}")
    for problem in problems:
        logger.warning("skipped leaderboard entry %s", problem)
    return entries, problems


def _clean(value):
    """Replace NaN and infinity by None so that the JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value
