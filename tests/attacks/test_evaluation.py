import pytest
import torch
from torch import nn

from lpcbench.attacks.evaluation import bootstrap_mean_interval, model_checks, summarize_fixed_eps, summarize_minimum_norm
from lpcbench.attacks.suite import resolve_attack, run_attack
from tests.attacks.test_deepfool import linear_model


class Rounded(nn.Module):
    """Ten-class logits of round(x): the input gradient is exactly zero everywhere."""

    def __init__(self):
        super().__init__()
        self.linear = linear_model([[1.0, -1.0], [-1.0, 1.0]] + [[-5.0, -5.0]] * 8)

    def forward(self, x):
        return self.linear(torch.round(x))


class Softmaxed(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = linear_model([[1.0, -1.0], [-1.0, 1.0]])

    def forward(self, x):
        return self.linear(x).softmax(dim=1)


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = linear_model([[1.0, -1.0], [-1.0, 1.0]])

    def forward(self, x):
        return self.linear(x) + 0.01 * torch.randn(x.shape[0], 2)


class NanGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float("nan"))


class NanModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = linear_model([[1.0, -1.0], [-1.0, 1.0]])

    def forward(self, x):
        return self.linear(NanGradient.apply(x))


class ReversedGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Reversed(nn.Module):
    """Ten classes; class 1 wins only where x1 - x0 > 0.55, and the input gradient points the wrong way."""

    def __init__(self):
        super().__init__()
        self.linear = linear_model([[1.0, -1.0], [-1.0, 1.0]] + [[0.0, 0.0]] * 8, [0.0, -1.1] + [-5.0] * 8)

    def forward(self, x):
        return self.linear(ReversedGradient.apply(x))


X = torch.tensor([[[[0.8, 0.2]]], [[[0.3, 0.6]]]])
Y = torch.tensor([0, 1])


def codes(flags):
    return {flag.code for flag in flags}


def test_clean_linear_model_raises_no_flag():
    assert model_checks(linear_model([[1.0, -1.0], [-1.0, 1.0]]).eval(), X, Y, was_training=False) == []


def test_train_mode_flag():
    assert "train_mode" in codes(model_checks(linear_model([[1.0, -1.0], [-1.0, 1.0]]), X, Y, was_training=True))


def test_probabilities_flag():
    assert "probabilities" in codes(model_checks(Softmaxed(), X, Y, was_training=False))


def test_zero_gradient_flag():
    flags = model_checks(Rounded(), X, Y, was_training=False)
    assert "zero_gradients" in codes(flags)
    assert any("exactly zero for 2 of 2 inputs" in flag.message for flag in flags)


def test_nan_gradient_flag():
    assert "nan_gradients" in codes(model_checks(NanModel(), X, Y, was_training=False))


def test_nondeterministic_flag():
    torch.manual_seed(0)
    assert "nondeterministic" in codes(model_checks(Noisy(), X, Y, was_training=False))


def test_pgd_large_eps_flag_on_masked_gradients():
    run = run_attack(resolve_attack("pgd", {"norm": "linf", "eps": 0.1}), Rounded(), X, Y)
    assert "pgd_large_eps" in {flag["code"] for flag in run.flags}
    assert run.summary["robust_acc"] == 1.0


def test_square_beats_gradient_flag():
    # From (0.5, 0.5) only the corner region of the eps = 0.3 ball near (0.2, 0.8) flips the label.
    x = torch.full((2, 1, 1, 2), 0.5)
    y = torch.tensor([0, 0])
    run = run_attack(resolve_attack("autoattack", {"norm": "linf", "eps": 0.3}), Reversed().eval(), x, y)
    assert "black_box_beats_gradient" in {flag["code"] for flag in run.flags}
    assert bool(run.per_attack_success["square"].any())
    assert not bool(run.per_attack_success["apgd-ce"].any())


def test_autoattack_needs_ten_classes():
    with pytest.raises(ValueError, match=r"AutoAttack's standard version .* needs >= 10 classes, got 2; use PGD"):
        run_attack(resolve_attack("autoattack", {"norm": "linf", "eps": 0.3}), linear_model([[1.0, -1.0], [-1.0, 1.0]]), X, Y)


def test_minimum_norm_summary_excludes_failures():
    relative = torch.tensor([0.1, 0.3, 5.0, 0.2], dtype=torch.float64)
    success = torch.tensor([True, True, False, False])
    misclassified = torch.tensor([False, False, False, True])
    summary = summarize_minimum_norm(relative, success, misclassified)
    assert summary["relative_norm_mean"] == pytest.approx(0.2)
    assert summary["failures"] == 1
    assert summary["misclassified"] == 1
    assert summary["success_rate"] == pytest.approx(2 / 3)
    assert summary["clean_acc"] == pytest.approx(0.75)
    compat = summarize_minimum_norm(relative, success, misclassified, include_failures=True)
    assert compat["relative_norm_mean"] == pytest.approx(1.8)
    assert compat["averaged"] == 3


def test_fixed_eps_summary():
    summary = summarize_fixed_eps(torch.tensor([True, False, False, False]), torch.tensor([False, False, True, False]))
    assert summary["robust_acc"] == pytest.approx(0.5)
    assert summary["robust_acc"] <= summary["clean_acc"]


def test_bootstrap_interval_brackets_mean():
    values = torch.linspace(0.0, 1.0, 101)
    low, high = bootstrap_mean_interval(values)
    assert low < 0.5 < high
    assert high - low < 0.15
    assert bootstrap_mean_interval(torch.tensor([1.0])) is None


def test_best_known_minimum_takes_smallest_success():
    from types import SimpleNamespace

    from lpcbench.attacks.evaluation import best_known_minimum

    a = SimpleNamespace(relative_norm=torch.tensor([0.2, 0.5, 0.4, 0.1]), success=torch.tensor([True, True, False, False]), misclassified=torch.tensor([False, False, False, True]))
    b = SimpleNamespace(relative_norm=torch.tensor([0.3, 0.1, 0.6, 0.1]), success=torch.tensor([True, True, True, False]), misclassified=torch.tensor([False, False, False, True]))
    summary, per_input = best_known_minimum({"deepfool": a, "fmn": b})
    assert per_input["relative_norm"][:3] == pytest.approx([0.2, 0.1, 0.6])
    assert per_input["relative_norm"][3] is None
    assert per_input["attack"] == ["deepfool", "fmn", "fmn", None]
    assert summary["found_minimum"] == {"deepfool": 1, "fmn": 2}
    assert summary["relative_norm_mean"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"needs at least two minimum-norm attacks, got \['deepfool'\]"):
        best_known_minimum({"deepfool": a})


def test_unfinished_flag():
    model = linear_model([[0.0, 0.0], [1.0, 0.0]], [0.0, -100.0]).eval()
    run = run_attack(resolve_attack("deepfool", {"steps": 2}), model, X, torch.tensor([0, 0]))
    assert run.summary["failures"] == 2
    assert any(flag["code"] == "unfinished" and "2 correctly classified inputs" in flag["message"] for flag in run.flags)
