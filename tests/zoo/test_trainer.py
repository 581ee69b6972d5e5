import json

import pytest
import torch
from safetensors.torch import load_file

from lpcbench.zoo import store
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.trainer import epoch_batches, flip_crop, train_run
from tests.conftest import TINY


def tiny_config(model_id="lpc", epochs=3, **overrides):
    return resolve_config(load_spec("digits"), model_id, seed=0, epochs=epochs, overrides={**TINY, **overrides})


class Interrupt(Exception):
    pass


def test_resume_matches_uninterrupted(tmp_path, tiny_digits):
    config = tiny_config("lpc_scl", epochs=3)
    straight = train_run(config, tiny_digits, tmp_path / "straight", progress=False)

    def stop_after_first(epoch, record):
        if epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_run(config, tiny_digits, tmp_path / "resumed", progress=False, on_epoch_end=stop_after_first)
    assert (tmp_path / "resumed" / store.CHECKPOINT_FILE).is_file()
    assert not (tmp_path / "resumed" / store.CARD_FILE).exists()

    resumed = train_run(config, tiny_digits, tmp_path / "resumed", progress=False)
    assert resumed["status"] == "resumed"
    a = load_file(str(tmp_path / "straight" / store.WEIGHTS_FILE))
    b = load_file(str(tmp_path / "resumed" / store.WEIGHTS_FILE))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert resumed["accuracy"] == straight["accuracy"]
    assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in straight["history"]]
    assert not (tmp_path / "resumed" / store.CHECKPOINT_FILE).exists()


def test_finished_run_is_skipped(tmp_path, tiny_digits):
    config = tiny_config("nopen", epochs=1)
    first = train_run(config, tiny_digits, tmp_path / "run", progress=False)
    again = train_run(config, tiny_digits, tmp_path / "run", progress=False)
    assert first["status"] == "trained"
    assert again["status"] == "skipped"
    assert again["weights_sha256"] == first["weights_sha256"]


def test_card_contents(tmp_path, tiny_digits):
    config = tiny_config("cosface", epochs=1)
    train_run(config, tiny_digits, tmp_path / "run", progress=False)
    card = json.loads((tmp_path / "run" / store.CARD_FILE).read_text())
    assert card["config_hash"] == config.config_hash()
    assert card["seed"] == 0
    assert card["lr"] == config.lr
    assert card["epochs"] == 1
    assert set(card["accuracy"]) == {"train", "val", "test"}
    assert card["weights_sha256"] == store.file_sha256(tmp_path / "run" / store.WEIGHTS_FILE)
    for key in ("torch_version", "lpcbench_version", "git_commit", "wall_time_s", "config", "dataset_info"):
        assert key in card


def test_loaded_model_matches_trained(tmp_path, tiny_digits):
    config = tiny_config("lpc", epochs=1)
    card = train_run(config, tiny_digits, tmp_path / "run", progress=False)
    model, loaded_card = store.load_model(tmp_path / "run")
    assert not model.training
    correct = (model(tiny_digits.test.x).argmax(1) == tiny_digits.test.y).float().mean()
    assert float(correct) == pytest.approx(card["accuracy"]["test"])


def test_corrupt_checkpoint_named_and_kept(tmp_path, tiny_digits):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    checkpoint = run_dir / store.CHECKPOINT_FILE
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(store.CheckpointError, match=rf"checkpoint {checkpoint} is corrupt or not a checkpoint .*delete it"):
        train_run(tiny_config(epochs=1), tiny_digits, run_dir, progress=False)
    assert checkpoint.read_bytes() == b"not a checkpoint"
    assert sorted(p.name for p in run_dir.iterdir()) == [store.CHECKPOINT_FILE]


def test_mismatched_checkpoint_rejected(tmp_path, tiny_digits):
    run_dir = tmp_path / "run"

    def stop(epoch, record):
        raise Interrupt

    with pytest.raises(Interrupt):
        train_run(tiny_config(epochs=2), tiny_digits, run_dir, progress=False, on_epoch_end=stop)
    before = (run_dir / store.CHECKPOINT_FILE).read_bytes()
    other = tiny_config(epochs=2, lr=5e-3)
    with pytest.raises(store.CheckpointError, match=r"belongs to config [0-9a-f]{12}, not [0-9a-f]{12}; delete it"):
        train_run(other, tiny_digits, run_dir, progress=False)
    assert (run_dir / store.CHECKPOINT_FILE).read_bytes() == before


def test_tampered_weights_rejected(tmp_path, tiny_digits):
    train_run(tiny_config("nopen", epochs=1), tiny_digits, tmp_path / "run", progress=False)
    weights = tmp_path / "run" / store.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(store.CheckpointError, match=rf"weights file {weights} does not match its card: sha256"):
        store.load_model(tmp_path / "run")


def test_unfinished_run_cannot_load(tmp_path):
    with pytest.raises(store.CheckpointError, match=r"no model card at .*model.json: the run has not finished"):
        store.load_model(tmp_path)


def test_broken_card_rejected(tmp_path):
    (tmp_path / store.CARD_FILE).write_text("{broken")
    with pytest.raises(store.CheckpointError, match=r"model card .* is not valid JSON"):
        store.read_card(tmp_path)


def test_flip_crop_keeps_shape_and_values():
    x = torch.rand(5, 3, 8, 8)
    out = flip_crop(x, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == x.shape
    # every output value is either a padding zero or a value of the same image
    for i in range(5):
        values = set(x[i].flatten().tolist()) | {0.0}
        assert set(out[i].flatten().tolist()) <= values


def test_flip_crop_zero_padding_identity():
    x = torch.rand(4, 1, 6, 6)
    out = flip_crop(x, torch.Generator().manual_seed(1), padding=0)
    for i in range(4):
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(2))


def test_epoch_batches_drop_single_remainder():
    batches = epoch_batches(65, 32, torch.Generator().manual_seed(0))
    assert [len(b) for b in batches] == [32, 32]
    batches = epoch_batches(66, 32, torch.Generator().manual_seed(0))
    assert [len(b) for b in batches] == [32, 32, 2]
