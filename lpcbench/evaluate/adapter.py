"""Wrap a user's model in the zoo's model protocol, so that bench measures it like a zoo model.

The protocol is ``forward(x) -> logits``, ``features_and_logits(x) -> (z, logits)`` and, where the
head is linear in z, ``classifier_weight`` and ``feature_extractor()`` for the certificate. z comes
from a named layer through a forward hook, or from the model's own ``features(x)`` method.
"""

from __future__ import annotations

import torch
from torch import nn

from lpcbench.evaluate.loading import ModelContractError, is_torchscript_module, layer_by_name

MAX_LATENT_WIDTH = 8192  # Sigma_W is P x P and the entropy's k-NN search is O(N^2 P)
HEAD_TOLERANCE = 1e-4  # relative, for recognising logits = W z + b


class LatentAdapter(nn.Module):
    """A user's model with its latents exposed; ``latent_source`` is None when there are none.

    ``latent_note`` gives where z comes from, or why there is no z. ``certify_note`` gives the reason
    the certificate is unavailable, or None.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, num_classes: int, penultimate: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.training = model.training  # follow the wrapped model's mode, as a fresh module starts in train mode
        self.num_classes = num_classes
        self.penultimate = penultimate
        # Plain attributes, not submodules: the wrapped model already owns these layers.
        self.__dict__.update(classifier=None, _layer=None, _prefix=None)
        self._zoo_protocol = False
        self.latent_source, self.latent_note = self._find_latents(x)
        self.certify_note = self._find_head(x) if self.latent_source else "no latents, so no latent margin"

    # The protocol ------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return z: (N, P) and logits: (N, K) from one pass where a hook gives z."""
        if self.latent_source is None:
            raise ModelContractError(f"this model has no latents: {self.latent_note}")
        if self.penultimate is not None:
            return self._hooked(x)
        z = self.model.features(x)
        logits = self.model.logits_from_features(z) if self._zoo_protocol else self.model(x)
        return z, logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[0]

    @property
    def classifier_weight(self) -> torch.Tensor | None:
        if self._zoo_protocol:
            return getattr(self.model, "classifier_weight", None)
        return None if self.classifier is None else self.classifier.weight

    def feature_extractor(self) -> nn.Module:
        from lpcbench.certify import NotCertifiable

        if self._prefix is None:
            raise NotCertifiable(f"the Lipschitz bound of x -> z is unavailable: {self.certify_note}")
        return self._prefix

    # Discovery -----------------------------------------------------------------------------------

    def _find_latents(self, x: torch.Tensor) -> tuple[str | None, str]:
        if self.penultimate is not None:
            if is_torchscript_module(self.model):
                raise ModelContractError(
                    "forward hooks do not apply to a TorchScript archive: drop --penultimate-layer and export a "
                    "features(x) method returning z of shape (N, P) with @torch.jit.export"
                )
            self.__dict__["_layer"] = layer_by_name(self.model, self.penultimate)
            with torch.no_grad():
                z, _ = self._hooked(x)
            if z.shape[1] > MAX_LATENT_WIDTH:
                raise ModelContractError(
                    f"layer {self.penultimate!r} gives {z.shape[1]} features per input after flattening; the latent "
                    f"metrics need at most {MAX_LATENT_WIDTH}: name the low-dimensional layer before the classifier"
                )
            return f"layer {self.penultimate} (forward hook)", f"z is the output of layer {self.penultimate!r}, flattened to (N, {z.shape[1]})"

        features = getattr(self.model, "features", None)
        if features is None:
            return None, "the model has no features(x) method and no --penultimate-layer was given"
        if isinstance(features, nn.Module):
            return None, (
                "model.features is a submodule (as in torchvision's VGG), not a features(x) -> z method; "
                "name the penultimate layer with --penultimate-layer"
            )
        if not callable(features):
            return None, f"model.features is a {type(features).__name__}, not a method"
        with torch.no_grad():
            z = features(x)
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != x.shape[0]:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            return None, (
                f"model.features(x) returned {shape}, not z of shape ({x.shape[0]}, P): it looks like feature maps; "
                "name the penultimate layer with --penultimate-layer"
            )
        self._zoo_protocol = callable(getattr(self.model, "logits_from_features", None))
        return "features(x) method", f"z is model.features(x), of width {z.shape[1]}"

    def _hooked(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = []
        handle = self._layer.register_forward_hook(lambda module, inputs, output: outputs.append(output))
        try:
            logits = self.model(x)
        finally:
            handle.remove()
        if len(outputs) != 1:
            raise ModelContractError(f"layer {self.penultimate!r} ran {len(outputs)} times in one forward pass; name a layer that runs exactly once")
        z = outputs[0]
        if not isinstance(z, torch.Tensor):
            raise ModelContractError(f"layer {self.penultimate!r} returns a {type(z).__name__}, expected a tensor")
        if z.ndim < 2 or z.shape[0] != x.shape[0]:
            raise ModelContractError(f"layer {self.penultimate!r} returns shape {tuple(z.shape)} for {x.shape[0]} inputs, expected ({x.shape[0]}, ...)")
        return z.flatten(1), logits

    def _find_head(self, x: torch.Tensor) -> str | None:
        """Find the linear head and x -> z as a Sequential prefix; return why not, or None when both exist."""
        if self._zoo_protocol:
            if getattr(self.model, "classifier_weight", None) is None:
                return "the model's classifier_weight is None: its logits are not linear in z"
            if not callable(getattr(self.model, "feature_extractor", None)):
                return "the model has no feature_extractor() returning x -> z"
            self.__dict__["classifier"] = getattr(self.model, "classifier", None)
            self.__dict__["_prefix"] = self.model.feature_extractor()
            return None
        if is_torchscript_module(self.model):
            return "the Lipschitz bound needs the layers of x -> z, which a TorchScript archive does not expose"

        with torch.no_grad():
            z, logits = self.features_and_logits(x)
        for module in self.model.modules():
            if isinstance(module, nn.Linear) and module.in_features == z.shape[1] and module.out_features == self.num_classes:
                with torch.no_grad():
                    predicted = module(z)
                if torch.allclose(predicted, logits, rtol=HEAD_TOLERANCE, atol=HEAD_TOLERANCE * float(logits.abs().max())):
                    self.__dict__["classifier"] = module
                    break
        if self.classifier is None:
            return f"no nn.Linear({z.shape[1]}, {self.num_classes}) maps z to the logits, so the logits are not known to be linear in z"

        layers = sequential_prefix(self.model, self.penultimate) if self.penultimate is not None else None
        if layers is None:
            return (
                "x -> z must run as a chain of nn.Sequential layers (name the penultimate layer with "
                "--penultimate-layer, inside nested nn.Sequential models) for its per-layer Lipschitz bound"
            )
        prefix = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            if not torch.allclose(prefix(x), z):
                return "the model's layers up to z, run in order, do not reproduce z"
        self.__dict__["_prefix"] = prefix
        return None


def sequential_prefix(model: nn.Module, path: str) -> list[nn.Module] | None:
    """Return the layers that run before and including ``path`` when every step of the path is an
    ``nn.Sequential`` child, so that x -> layer output is their composition; otherwise None."""
    layers = []
    module = model
    for part in path.split("."):
        if not isinstance(module, nn.Sequential):
            return None
        children = dict(module.named_children())
        names = list(children)
        if part not in children:
            return None
        layers += [children[name] for name in names[: names.index(part)]]
        module = children[part]
    return layers + [module]
