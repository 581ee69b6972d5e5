import pytest

from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.schedules import gamma_at, lr_factor_at, margin_at


@pytest.fixture(scope="module")
def paper():
    return resolve_config(load_spec("digits"), "lpc", seed=0, profile="paper")


def test_gamma_ramp_values(paper):
    assert gamma_at(paper, 0) == pytest.approx(1e-2)
    assert gamma_at(paper, 1) == pytest.approx(1.05e-2)
    assert gamma_at(paper, 10) == pytest.approx(1e-2 * 1.05**10)


def test_gamma_capped(paper):
    # 1e-2 * 1.05**n reaches 1e6 after log(1e8)/log(1.05) = 377.6 epochs
    assert gamma_at(paper, 377) < 1e6
    assert gamma_at(paper, 378) == 1e6
    assert gamma_at(paper, 799) == 1e6


def test_lr_halving_paper(paper):
    assert lr_factor_at(paper, 249) == 1.0
    assert lr_factor_at(paper, 250) == 0.5
    assert lr_factor_at(paper, 299) == 0.5
    assert lr_factor_at(paper, 300) == 0.25
    assert lr_factor_at(paper, 799) == 0.5**11


def test_epochs_rescale_schedules(paper):
    short = resolve_config(load_spec("digits"), "lpc", seed=0, profile="paper", epochs=200)
    assert (short.lr_decay_start, short.lr_decay_every) == (62, 12)
    assert short.gamma_step == pytest.approx(1.05**4)
    # gamma reaches the same value a quarter of the epochs in
    assert gamma_at(short, 25) == pytest.approx(gamma_at(paper, 100), rel=1e-9)


def test_arcface_margin_ramp():
    config = resolve_config(load_spec("digits"), "arcface", seed=0, epochs=100)
    assert margin_at(config, 0) == pytest.approx((0.1, 16.0))
    assert margin_at(config, 25) == pytest.approx((0.3, 40.0))
    assert margin_at(config, 50) == pytest.approx((0.5, 64.0))
    assert margin_at(config, 99) == pytest.approx((0.5, 64.0))


def test_cosface_margin_ramp():
    config = resolve_config(load_spec("digits"), "cosface", seed=0, epochs=100)
    assert margin_at(config, 0) == pytest.approx((0.05, 16.0))
    assert margin_at(config, 50) == pytest.approx((0.25, 64.0))
