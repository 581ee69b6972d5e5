import pytest

from lpcbench import paths


def test_flag_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ZOO_DIR_ENV, str(tmp_path / "from-env"))
    assert paths.zoo_dir(tmp_path / "from-flag") == tmp_path / "from-flag"


def test_environment_beats_default(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ZOO_DIR_ENV, str(tmp_path / "zoo"))
    monkeypatch.setenv(paths.RESULTS_DIR_ENV, str(tmp_path / "results"))
    assert paths.zoo_dir() == tmp_path / "zoo"
    assert paths.results_dir() == tmp_path / "results"


def test_default_is_user_folder(monkeypatch):
    monkeypatch.delenv(paths.ZOO_DIR_ENV, raising=False)
    monkeypatch.delenv(paths.RESULTS_DIR_ENV, raising=False)
    assert paths.zoo_dir().parts[-2:] == ("lpcbench", "zoo")
    assert paths.results_dir().parts[-2:] == ("lpcbench", "results")


def test_shipped_specs_found():
    assert (paths.spec_dir("zoo") / "digits.toml").is_file()
    for dataset in ("fashion-mnist", "cifar10", "cifar100"):
        assert (paths.spec_dir("zoo") / f"{dataset}.toml").is_file()


def test_unknown_spec_kind():
    with pytest.raises(ValueError, match=r"unknown spec kind 'models': expected one of zoo, attacks, leaderboards"):
        paths.spec_dir("models")
