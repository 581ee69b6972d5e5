import pytest

from lpcbench.zoo.config import TrainConfig, load_spec, parse_lrs, parse_seeds, profile_lrs, resolve_config


def test_parse_seeds_forms():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0-2,7,1") == [0, 1, 2, 7]


@pytest.mark.parametrize("text", ["", " , "])
def test_empty_seed_list(text):
    with pytest.raises(ValueError, match=r"empty seed list .*: expected e.g. '0,1,2' or '0-4'"):
        parse_seeds(text)


@pytest.mark.parametrize("text", ["a", "3-1", "1-x"])
def test_invalid_seed_list(text):
    with pytest.raises(ValueError, match=r"invalid seed list"):
        parse_seeds(text)


def test_negative_seed():
    with pytest.raises(ValueError, match=r"invalid seed list '-1': seeds must be >= 0"):
        parse_seeds("-1")


def test_parse_lrs():
    assert parse_lrs("1e-4,2e-4") == [1e-4, 2e-4]
    with pytest.raises(ValueError, match=r"learning rates must be > 0, got -0.1"):
        parse_lrs("-0.1")
    with pytest.raises(ValueError, match=r"invalid learning-rate list 'fast'"):
        parse_lrs("fast")
    with pytest.raises(ValueError, match=r"empty learning-rate list ','"):
        parse_lrs(",")


def test_paper_lr_grid():
    assert profile_lrs(load_spec("digits"), "paper") == [1e-4, 2e-4, 4e-4, 8e-4]


@pytest.mark.parametrize("epochs", [0, -3])
def test_nonpositive_epochs(epochs):
    with pytest.raises(ValueError, match=rf"epochs must be a positive integer, got {epochs}"):
        resolve_config(load_spec("digits"), "lpc", seed=0, epochs=epochs)


@pytest.mark.parametrize("field", ["gamma_max", "gamma_start"])
def test_nonpositive_gamma(field):
    with pytest.raises(ValueError, match=rf"{field} must be > 0, got 0"):
        resolve_config(load_spec("digits"), "lpc", seed=0, overrides={field: 0})


def test_hash_changes_with_any_field():
    spec = load_spec("digits")
    base = resolve_config(spec, "lpc", seed=0)
    assert base.config_hash() == resolve_config(spec, "lpc", seed=0).config_hash()
    assert base.config_hash() != resolve_config(spec, "lpc", seed=1).config_hash()
    assert base.config_hash() != resolve_config(spec, "lpc", seed=0, lr=2e-3).config_hash()


def test_config_round_trip():
    config = resolve_config(load_spec("digits"), "arcface", seed=3)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_config_missing_fields():
    with pytest.raises(ValueError, match=r"training config is missing fields: .*seed"):
        TrainConfig.from_dict({"dataset": "digits"})


def test_unknown_profile():
    with pytest.raises(ValueError, match=r"unknown profile 'huge' for digits: expected one of \['paper', 'small'\]"):
        resolve_config(load_spec("digits"), "lpc", seed=0, profile="huge")


def test_missing_spec(tmp_path):
    with pytest.raises(ValueError, match=r"no zoo spec for dataset 'digits' at .*nope.toml: shipped specs are"):
        load_spec("digits", tmp_path / "nope.toml")


def test_spec_for_other_dataset(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('dataset = "cifar10"\n')
    with pytest.raises(ValueError, match=r"is for dataset 'cifar10', expected 'digits'"):
        load_spec("digits", path)


def test_spec_bad_width(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('dataset = "digits"\n[widths]\nintermediate = 16\nwide = 0\nnarrow = 8\n')
    with pytest.raises(ValueError, match=r"\[widths\] wide must be a positive integer, got 0"):
        load_spec("digits", path)
