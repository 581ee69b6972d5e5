"""Load a user's model safely and check it against the input contract before any attack.

The model comes from a Python callable (``file.py:function`` or ``package.module:function``) that
returns an ``nn.Module``, or from a TorchScript archive. Weights come from safetensors or from a state
dict read with ``torch.load(..., weights_only=True)``, which cannot run code.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


LISTED_LAYERS = 20  # layer names listed when a requested name matches none


class ModelContractError(ValueError):
    """Raised when a user's model cannot be loaded or breaks the input contract. The message names the fix."""


@dataclass
class ContractReport:
    """Findings and changes of the contract check."""

    notes: list = field(default_factory=list)  # e.g. the switch from train to eval mode


def load_callable_model(spec: str) -> nn.Module:
    """Call ``file.py:function`` or ``package.module:function`` and return the module it builds."""
    if ":" not in spec:
        raise ModelContractError(f"expected FILE.py:FUNCTION or MODULE:FUNCTION, got {spec!r}")
    location, function_name = spec.rsplit(":", 1)
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise ModelContractError(f"model file {path} not found")
        # As 'python FILE.py' would, let the file import the modules beside it.
        _prepend_path(path.resolve().parent)
        module_spec = importlib.util.spec_from_file_location(f"lpcbench_user_model_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except ImportError as error:
            raise ModelContractError(f"{path} failed to import: {error}; set PYTHONPATH to the folder that contains the missing module") from None
    else:
        _prepend_path(Path.cwd())  # as 'python -m' would
        try:
            module = importlib.import_module(location)
        except ImportError as error:
            raise ModelContractError(f"cannot import module {location!r}: {error}; set PYTHONPATH to the folder that contains it") from None
    builder = getattr(module, function_name, None)
    if not callable(builder):
        raise ModelContractError(f"{location} has no callable {function_name!r}")
    model = builder()
    if not isinstance(model, nn.Module):
        raise ModelContractError(f"{spec} returned {type(model).__name__}, expected a torch.nn.Module")
    return model


def load_model(spec: str) -> nn.Module:
    """Load a model from ``file.py:function``, ``package.module:function`` or a TorchScript archive path."""
    path = Path(spec)
    if ":" not in spec or path.is_file():
        if not path.is_file():
            raise ModelContractError(f"expected FILE.py:FUNCTION, MODULE:FUNCTION or a TorchScript archive, got {spec!r}")
        if not is_torchscript(path):
            raise ModelContractError(
                f"{path} is not a TorchScript archive: pass the code that builds the model as FILE.py:FUNCTION "
                "and this file as its weights"
            )
        # TorchScript runs its own restricted code, never Python pickles: load only archives you trust.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"`torch.jit.load` is deprecated", category=FutureWarning)
            return torch.jit.load(str(path), map_location="cpu")
    return load_callable_model(spec)


def is_torchscript_module(model: nn.Module) -> bool:
    return isinstance(model, torch.jit.ScriptModule)


def is_torchscript(path: Path) -> bool:
    """True for a TorchScript archive (a zip holding a ``constants.pkl`` or ``code/`` entry)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load safetensors or a plain state dict into ``model``; mismatches list the first keys."""
    path = Path(path)
    if not path.is_file():
        raise ModelContractError(f"weights file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        if is_torchscript(path):
            raise ModelContractError(f"{path} is a TorchScript archive, not a state dict: pass it as the model itself")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises UnpicklingError and others for files that need more
            raise ModelContractError(
                f"{path} cannot be read with torch.load(weights_only=True) ({type(error).__name__}); it needs code "
                "to load, which lpcbench never runs. Save model.state_dict() with torch.save, or use safetensors"
            ) from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelContractError(f"{path} contains a {type(state).__name__}, expected a state dict of tensors")
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    wrong_shape = [key for key in expected if key in state and tuple(state[key].shape) != tuple(expected[key].shape)]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing[:5]))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected[:5]))
        if wrong_shape:
            parts.append("wrong shape " + ", ".join(f"{key} {tuple(state[key].shape)} vs {tuple(expected[key].shape)}" for key in wrong_shape[:5]))
        raise ModelContractError(f"weights {path} do not match the model: {'; '.join(parts)}")
    model.load_state_dict(state)


def check_contract(model: nn.Module, x: torch.Tensor, num_classes: int) -> ContractReport:
    """Check a model on a few inputs ``x: (n, C, H, W)`` in [0, 1] before any attack.

    Checks that the output is a (n, num_classes) logits tensor, that the forward pass is
    deterministic, and that outputs are not probabilities. A model in train mode is switched to
    eval, and the report notes it.
    """
    report = ContractReport()
    if model.training:
        model.eval()
        report.notes.append("the model was in train mode; it was switched to eval mode for the evaluation")
    try:
        with torch.no_grad():
            first = model(x)
            second = model(x)
    except Exception as error:  # The user's forward pass can raise any exception, so report it with the input shape.
        raise ModelContractError(
            f"the model failed on inputs of shape {tuple(x.shape)} in [0, 1] ({type(error).__name__}: {error}); "
            "it must take images of this shape and normalise them itself"
        ) from None
    if not isinstance(first, torch.Tensor):
        raise ModelContractError(f"the model returned {type(first).__name__}; forward must return a logits tensor")
    if first.shape != (x.shape[0], num_classes):
        raise ModelContractError(f"expected logits of shape ({x.shape[0]}, {num_classes}) for this dataset, got {tuple(first.shape)}")
    if not torch.equal(first, second):
        raise ModelContractError("two forward passes on the same inputs differ: remove randomness (dropout in eval mode, noise) before evaluating")
    if bool((first >= 0).all()) and torch.allclose(first.sum(dim=1), torch.ones(x.shape[0]), atol=1e-4):
        raise ModelContractError("the model returns probabilities (non-negative rows summing to 1); return the logits before softmax, since probabilities hide gradients")
    return report


def layer_by_name(model: nn.Module, name: str) -> nn.Module:
    """Return the submodule ``name``; an unknown name lists the closest existing ones."""
    modules = dict(model.named_modules())
    if name not in modules:
        names = [key for key in modules if key]
        close = difflib.get_close_matches(name, names, n=5)
        if close:
            raise ModelContractError(f"no layer named {name!r}; close matches: {', '.join(close)}")
        listed = ", ".join(names[:LISTED_LAYERS]) + (f" and {len(names) - LISTED_LAYERS} more" if len(names) > LISTED_LAYERS else "")
        raise ModelContractError(f"no layer named {name!r}; the model's layers are: {listed or 'none'}")
    return modules[name]


def _prepend_path(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
