import gzip
import struct

import numpy as np
import pytest
import torch

from lpcbench.data import DatasetNotFoundError, load_dataset
from lpcbench.data import datasets as datasets_module


def test_digits_shapes_and_range(digits):
    assert digits.input_shape == (1, 8, 8)
    assert digits.num_classes == 10
    for split in (digits.train, digits.val, digits.test):
        assert split.x.dtype == torch.float32
        assert float(split.x.min()) >= 0.0
        assert float(split.x.max()) <= 1.0
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797


def test_digits_split_sizes_and_classes(digits):
    assert (len(digits.train), len(digits.val), len(digits.test)) == (1077, 360, 360)
    for split in (digits.train, digits.val, digits.test):
        assert set(split.y.tolist()) == set(range(10))


def test_digits_split_is_fixed(digits):
    again = load_dataset("digits")
    assert torch.equal(again.test.x, digits.test.x)
    assert torch.equal(again.train.y, digits.train.y)


def test_digits_splits_disjoint(digits):
    def rows(split):
        return {tuple(row.tolist()) + (int(label),) for row, label in zip(split.x.flatten(1), split.y)}

    # Digits has a few exact duplicate images; compare counts of shared rows, not sets.
    train, test = rows(digits.train), rows(digits.test)
    assert len(train & test) <= 5


def test_digits_mean_std_from_train(digits):
    assert digits.mean[0] == pytest.approx(float(digits.train.x.mean()), rel=1e-6)
    assert digits.std[0] == pytest.approx(float(digits.train.x.std()), rel=1e-6)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist2': expected one of digits, fashion-mnist, cifar10, cifar100"):
        load_dataset("mnist2")


def _write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def test_fashion_mnist_reads_idx_files(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets_module, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, size=(5100, 28, 28))
    train_labels = np.arange(5100) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_images, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", train_labels)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", train_images[:20])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", train_labels[:20])

    data = load_dataset("fashion-mnist", tmp_path)
    assert data.input_shape == (1, 28, 28)
    assert (len(data.train), len(data.val), len(data.test)) == (100, 5000, 20)
    assert torch.allclose(data.test.x[3, 0], torch.from_numpy(train_images[3] / 255.0).float())
    assert data.source == str(tmp_path)


def test_fashion_mnist_missing_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets_module, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    with pytest.raises(DatasetNotFoundError, match=r"Fashion-MNIST not found: .*debian.*apt-get install dataset-fashion-mnist.*--download"):
        load_dataset("fashion-mnist", tmp_path)


def test_idx_bad_magic_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets_module, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    for name in datasets_module.FASHION_MNIST_FILES.values():
        (tmp_path / name).write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(ValueError, match=r"is not an IDX file of unsigned bytes \(bad magic number\)"):
        load_dataset("fashion-mnist", tmp_path)


def test_idx_truncated_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + b"\x00" * 4)
    with pytest.raises(ValueError, match=r"is truncated: expected 10 values, found 4"):
        datasets_module._read_idx(path)


def test_cifar_missing_says_where_and_how(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"cifar10 not found: looked for .*cifar-10-batches-py.*--download"):
        load_dataset("cifar10", tmp_path)
