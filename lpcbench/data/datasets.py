"""Load digits, Fashion-MNIST, CIFAR-10 and CIFAR-100 as train/validation/test tensors.

Every image is a float32 tensor of shape (C, H, W) with values in [0, 1]. The
per-channel mean and std of the training split travel with the data, so that
models normalise their input as their first layer and attacks work in pixel space.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
VALIDATION_SEED = 0
FASHION_MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are in none of the places looked at."""


@dataclass(frozen=True)
class Split:
    """One split: ``x: (N, C, H, W)`` float32 in [0, 1] and ``y: (N,)`` int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class DatasetSplits:
    """Train, validation and test splits of one dataset, and where they came from."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    mean: tuple[float, ...]  # per channel, over the training split
    std: tuple[float, ...]
    source: str  # the folder or package the data was read from
    split_rule: str  # how the validation split was drawn

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.x.shape[1:])  # type: ignore[return-value]


def load_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = False) -> DatasetSplits:
    """Load dataset ``name`` (one of ``DATASETS``).

    ``data_dir`` is searched first; ``download=True`` lets torchvision fetch
    Fashion-MNIST or CIFAR where the network allows. Digits ship with
    scikit-learn and never need either.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return DATASETS[name](Path(data_dir).expanduser() if data_dir else None, download)


def _load_digits(data_dir: Path | None, download: bool) -> DatasetSplits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    # Pixel values are integers 0..16 in scikit-learn's copy of the UCI data.
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    indices = np.arange(len(labels))
    train_val, test = train_test_split(indices, test_size=0.2, stratify=bunch.target, random_state=VALIDATION_SEED)
    train, val = train_test_split(
        train_val, test_size=0.25, stratify=bunch.target[train_val], random_state=VALIDATION_SEED
    )
    return _make_splits(
        "digits",
        Split(images[train], labels[train]),
        Split(images[val], labels[val]),
        Split(images[test], labels[test]),
        num_classes=10,
        source="scikit-learn bundled copy of the UCI 8x8 digits",
        split_rule=f"stratified 60/20/20 train/validation/test, random_state={VALIDATION_SEED}",
    )


def _load_fashion_mnist(data_dir: Path | None, download: bool) -> DatasetSplits:
    candidates = []
    if data_dir is not None:
        candidates += [data_dir, data_dir / "FashionMNIST" / "raw", data_dir / "fashion-mnist"]
    candidates.append(DEBIAN_FASHION_MNIST)
    for folder in candidates:
        files = {key: _find_idx(folder, stem) for key, stem in FASHION_MNIST_FILES.items()}
        if all(path is not None for path in files.values()):
            arrays = {key: _read_idx(path) for key, path in files.items()}
            return _split_official("fashion-mnist", arrays, num_classes=10, source=str(folder))

    if download:
        import torchvision

        root = data_dir or Path.cwd() / "data"
        train = torchvision.datasets.FashionMNIST(str(root), train=True, download=True)
        test = torchvision.datasets.FashionMNIST(str(root), train=False, download=True)
        arrays = {
            "train_x": train.data.numpy(),
            "train_y": train.targets.numpy(),
            "test_x": test.data.numpy(),
            "test_y": test.targets.numpy(),
        }
        return _split_official("fashion-mnist", arrays, num_classes=10, source=str(root))

    looked = ", ".join(str(folder) for folder in candidates)
    raise DatasetNotFoundError(
        f"Fashion-MNIST not found: looked for the four IDX files ({', '.join(FASHION_MNIST_FILES.values())}, "
        f"optionally .gz) in {looked}. Install the Debian package with "
        "'apt-get install dataset-fashion-mnist', pass --data-dir pointing at the IDX files, "
        "or pass --download to let torchvision fetch them."
    )


def _load_cifar(name: str, data_dir: Path | None, download: bool) -> DatasetSplits:
    import torchvision

    dataset_class = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    folder_name = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    root = data_dir or Path.cwd() / "data"
    if not (root / folder_name).is_dir() and not download:
        raise DatasetNotFoundError(
            f"{name} not found: looked for {root / folder_name} (torchvision's layout). "
            f"Pass --data-dir pointing at the folder that contains {folder_name}/, "
            "or pass --download to let torchvision fetch it."
        )
    # NOTE: torchvision reads the official CIFAR python batches with pickle.
    # Only point --data-dir at copies of the official archive.
    train = dataset_class(str(root), train=True, download=download)
    test = dataset_class(str(root), train=False, download=download)
    arrays = {
        "train_x": train.data,
        "train_y": np.asarray(train.targets),
        "test_x": test.data,
        "test_y": np.asarray(test.targets),
    }
    num_classes = 10 if name == "cifar10" else 100
    return _split_official(name, arrays, num_classes=num_classes, source=str(root / folder_name))


def _split_official(name: str, arrays: dict[str, np.ndarray], *, num_classes: int, source: str) -> DatasetSplits:
    """Hold out a seeded validation split of 5,000 images from the official training set."""
    train_x = _to_float_images(arrays["train_x"])
    train_y = torch.from_numpy(np.asarray(arrays["train_y"], dtype=np.int64))
    test = Split(_to_float_images(arrays["test_x"]), torch.from_numpy(np.asarray(arrays["test_y"], dtype=np.int64)))
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    order = torch.randperm(len(train_y), generator=generator)
    val_index, train_index = order[:5000], order[5000:]
    return _make_splits(
        name,
        Split(train_x[train_index], train_y[train_index]),
        Split(train_x[val_index], train_y[val_index]),
        test,
        num_classes=num_classes,
        source=source,
        split_rule=f"5000 validation images drawn from the official training set, seed {VALIDATION_SEED}",
    )


def _to_float_images(array: np.ndarray) -> torch.Tensor:
    """Convert uint8 images, (N, H, W) or (N, H, W, C), to float32 (N, C, H, W) in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(array)).float().div_(255.0)
    if tensor.ndim == 3:
        return tensor.unsqueeze(1)
    return tensor.permute(0, 3, 1, 2).contiguous()


def _make_splits(name: str, train: Split, val: Split, test: Split, **fields) -> DatasetSplits:
    mean = train.x.mean(dim=(0, 2, 3))
    std = train.x.std(dim=(0, 2, 3))
    return DatasetSplits(
        name=name,
        train=train,
        val=val,
        test=test,
        mean=tuple(float(value) for value in mean),
        std=tuple(float(value) for value in std),
        **fields,
    )


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format): a magic number, the dimensions, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {data.size}")
    return data.reshape(shape).copy()


DATASETS = {
    "digits": _load_digits,
    "fashion-mnist": _load_fashion_mnist,
    "cifar10": lambda data_dir, download: _load_cifar("cifar10", data_dir, download),
    "cifar100": lambda data_dir, download: _load_cifar("cifar100", data_dir, download),
}
