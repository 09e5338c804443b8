"""Data sets: the embedded digits split, IDX / CIFAR / image-folder readers, clear layout errors."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from wiring_lab._io import UserError
from wiring_lab.data import load_dataset, read_idx


def test_digits_split_is_fixed_and_stratified(digits):
    again = load_dataset("digits")
    assert len(digits.train) + len(digits.test) == 1797
    assert len(digits.test) == 360
    x, y = digits.test.tensors
    assert x.shape == (360, 1, 8, 8) and y.bincount().min() >= 35
    assert (again.test.tensors[0] == x).all()
    assert digits.regime == "digits" and digits.num_classes == 10


def _idx(path, arr, gz=False):
    code = {np.uint8: 0x08}[arr.dtype.type]
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def _fake_mnist(root, n_train=20, n_test=10, gz=False):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    sfx = ".gz" if gz else ""
    _idx(root / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), gz)
    _idx(root / f"train-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_train, dtype=np.uint8), gz)
    _idx(root / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), gz)
    _idx(root / f"t10k-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_test, dtype=np.uint8), gz)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_sets_gzipped_or_not(tmp_path, gz):
    _fake_mnist(tmp_path / "m", gz=gz)
    data = load_dataset("fashion-mnist", tmp_path / "m")
    assert data.train.tensors[0].shape == (20, 1, 28, 28)
    assert len(data.test) == 10 and data.classes[9] == "Ankle boot"
    assert load_dataset("mnist", tmp_path / "m").regime == "mnist"


def test_idx_errors_name_the_file_and_layout(tmp_path):
    with pytest.raises(UserError, match="no such data directory.*train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path / "nowhere")
    _fake_mnist(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="missing t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path / "m")
    bad = tmp_path / "bad-idx"
    bad.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 1000, 28, 28) + b"\x00" * 10)
    with pytest.raises(UserError, match="declares shape"):
        read_idx(bad)
    bad.write_bytes(b"GIF89a")
    with pytest.raises(UserError, match="not an IDX file"):
        read_idx(bad)


def _cifar_batch(path, n, rng):
    d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist(), b"batch_label": b"x"}
    path.write_bytes(pickle.dumps(d, protocol=2))


def test_cifar10_python_batches(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _cifar_batch(root / f"data_batch_{i}", 4, rng)
    _cifar_batch(root / "test_batch", 3, rng)
    data = load_dataset("cifar10", tmp_path)
    assert data.train.tensors[0].shape == (20, 3, 32, 32) and len(data.test) == 3


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ.get("WL_MARKER", "/tmp/wl-never"),))


def test_cifar_batch_that_runs_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("WL_MARKER", str(marker))
    root = tmp_path / "c"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _cifar_batch(root / f"data_batch_{i}", 2, rng)
    (root / "test_batch").write_bytes(pickle.dumps({b"data": _Evil()}))
    with pytest.raises(UserError, match="refusing to load posix.system|refusing to load os.system|not a CIFAR-10 batch"):
        load_dataset("cifar10", root)
    assert not marker.exists()


def test_imagefolder(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / split / c / "a.png")
    data = load_dataset("imagefolder", tmp_path, image_size=24)
    x, y = data.train[1]
    assert x.shape == (3, 24, 24) and y == 1 and data.num_classes == 2
    with pytest.raises(UserError, match="val"):
        load_dataset("imagefolder", tmp_path / "train")


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(UserError, match="choose one of digits, mnist"):
        load_dataset("imagenet21k")
