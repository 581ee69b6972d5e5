"""The eleven model variants of the LPC paper's Table III, as data.

Each variant records which penultimate layer it has, which loss terms train it,
and where the L2 penalty acts. Widths are per dataset and live in the zoo specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Variant:
    """One row of Table III."""

    model_id: str
    display_name: str
    penultimate: Literal["linear", "nonlinear", "none"]
    width: Literal["intermediate", "wide", "narrow", "none"]
    l2_penalty: bool  # gamma * ||z||^2, on z, or on h where there is no penultimate layer
    supcon: bool  # supervised contrastive loss on the backbone output h, added to cross-entropy
    margin: Literal["arcface", "cosface", "none"]


VARIANTS: dict[str, Variant] = {
    variant.model_id: variant
    for variant in (
        Variant("lpc", "LPC", "linear", "intermediate", True, False, "none"),
        Variant("lpc_wide", "LPC-WIDE", "linear", "wide", True, False, "none"),
        Variant("lpc_narrow", "LPC-NARROW", "linear", "narrow", True, False, "none"),
        Variant("lpc_nopen", "LPC-NOPEN", "none", "none", True, False, "none"),
        Variant("lpc_scl", "LPC-SCL", "linear", "intermediate", True, True, "none"),
        Variant("linpen", "LINPEN", "linear", "intermediate", False, False, "none"),
        Variant("nonlinpen", "NONLINPEN", "nonlinear", "intermediate", False, False, "none"),
        Variant("nopen", "NOPEN", "none", "none", False, False, "none"),
        Variant("scl", "SCL", "none", "none", False, True, "none"),
        Variant("arcface", "ARCFACE", "none", "none", False, False, "arcface"),
        Variant("cosface", "COSFACE", "none", "none", False, False, "cosface"),
    )
}

# Spellings used in the tables and text of Sbailo and Ghiringhelli (2025), mapped to model ids.
PAPER_NAMES: dict[str, str] = {
    **{variant.display_name: variant.model_id for variant in VARIANTS.values()},
    "LPC-NOPEL": "lpc_nopen",
    "LPC-NO PEN": "lpc_nopen",
    "LPC-NOPE": "lpc_nopen",
    "NOPENLPC": "lpc_nopen",
    "NOPEL": "nopen",
    "NOPE": "nopen",
    "NO PEN": "nopen",
}


def get_variant(model_id: str) -> Variant:
    """Return the variant with id ``model_id``; raise ``ValueError`` listing the valid ids otherwise."""
    try:
        return VARIANTS[model_id]
    except KeyError:
        raise ValueError(f"unknown model id {model_id!r}: expected one of {', '.join(VARIANTS)}") from None


def parse_model_ids(text: str) -> list[str]:
    """Parse ``all`` or a comma-separated list of model ids, keeping the registry's order for ``all``."""
    if text.strip() == "all":
        return list(VARIANTS)
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise ValueError(f"empty model list {text!r}: expected 'all' or ids such as 'lpc,nopen'")
    for model_id in ids:
        get_variant(model_id)
    return list(dict.fromkeys(ids))
