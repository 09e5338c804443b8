"""Data sets: the embedded digits default, MNIST / Fashion-MNIST IDX files, CIFAR-10, image folders.

Every loader returns a :class:`Data` with a train and a test split as ``torch`` datasets of
``(image (C, H, W) float32, label int64)`` pairs, already normalised. Nothing is downloaded:
a missing or malformed data set is a :class:`~wiring_lab._io.UserError` naming the path and the
layout that was expected.
"""

from __future__ import annotations

import math
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits as sk_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from wiring_lab._io import UserError

FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
DIGITS_SPLIT_SEED = 0  # fixed train/test split of the embedded digits set
DIGITS_TEST_FRACTION = 0.2

_IDX_LAYOUT = (
    "expected IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte (each optionally .gz)"
)
_CIFAR_LAYOUT = "expected the CIFAR-10 python batches data_batch_1..5 and test_batch (cifar-10-batches-py/)"
_FOLDER_LAYOUT = "expected train/<class>/*.jpg|png and val/<class>/*.jpg|png"


@dataclass
class Data:
    """A data set's two splits and what a model needs to know about them."""

    name: str
    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    regime: str  # the model regime that fits these images
    classes: list[str]


# --- embedded default ------------------------------------------------------------------------
def load_digits(root: str | Path | None = None, image_size: int | None = None) -> Data:
    """scikit-learn's bundled 8x8 digits (1,797 images) with a fixed, stratified 80/20 split."""
    bunch = sk_digits()
    x = bunch.images.astype(np.float32) / 16.0  # pixel values 0..16
    y = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=y
    )
    mean, std = float(xtr.mean()), float(xtr.std())
    return Data(
        "digits",
        _tensors(xtr, ytr, mean, std),
        _tensors(xte, yte, mean, std),
        10,
        1,
        8,
        "digits",
        [str(i) for i in range(10)],
    )


def _tensors(x: np.ndarray, y: np.ndarray, mean: float | np.ndarray, std: float | np.ndarray) -> TensorDataset:
    """(N, H, W) or (N, C, H, W) float images + labels -> normalised TensorDataset."""
    if x.ndim == 3:
        x = x[:, None]
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return TensorDataset((t - mean_t) / std_t, torch.from_numpy(y.astype(np.int64)))


# --- MNIST / Fashion-MNIST ---------------------------------------------------------------------
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress a gzipped IDX file, never beyond the size its own header declares."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        head = d.decompress(raw, 4)
        ndim = head[3] if len(head) == 4 else 0
        head += d.decompress(d.unconsumed_tail, 4 * ndim)
        if len(head) < 4 + 4 * ndim or head[2] not in _IDX_DTYPES:
            return head  # read_idx reports what is wrong with the header
        shape = struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim])
        size = math.prod(shape) * np.dtype(_IDX_DTYPES[head[2]]).itemsize
        if size > MAX_IDX_BYTES:
            raise UserError(f"{path}: IDX header declares shape {shape} ({size:,} bytes), more than {MAX_IDX_BYTES:,}")
        body = d.decompress(d.unconsumed_tail, size + 1)  # one byte more reveals trailing data
    except zlib.error as e:
        raise UserError(f"{path}: corrupt gzip data ({e})") from None
    return head + body


# Larger than any IDX data set in use (MNIST's training images are 47 MB); a header declaring
# more is refused before anything is allocated or decompressed.
MAX_IDX_BYTES = 4 << 30


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzipped or not), checking its header against its size."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read IDX file ({e.__class__.__name__}: {e})") from None
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise UserError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise UserError(f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file has {len(body)}")
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise UserError(f"{path}: the IDX data holds NaN or inf values")
    return array


def _find_idx(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (root / name).is_file():
            return root / name
    raise UserError(f"{root}: missing {stem}[.gz]; {_IDX_LAYOUT}")


MIN_IDX_SIDE = 8  # pixels: the smallest input the networks take (the digits regime)


def _load_idx_set(name: str, root: Path, classes: list[str]) -> Data:
    if not root.is_dir():
        raise UserError(f"{root}: no such data directory for {name}; {_IDX_LAYOUT}")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find_idx(root, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find_idx(root, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(f"{root}: {split} images {images.shape} and labels {labels.shape} do not match")
        if min(images.shape[1:]) < MIN_IDX_SIDE or images.shape[1] != images.shape[2]:
            raise UserError(f"{root}: {split} images are {images.shape[1]}x{images.shape[2]}; IDX images must be square, at least {MIN_IDX_SIDE}x{MIN_IDX_SIDE}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise UserError(f"{root}: {split} labels outside 0..{len(classes) - 1}")
        parts[split] = (images.astype(np.float32) / 255.0, labels.astype(np.int64))
    if parts["train"][0].shape[1:] != parts["test"][0].shape[1:]:
        raise UserError(f"{root}: train images are {parts['train'][0].shape[1:]} but test images {parts['test'][0].shape[1:]}")
    mean, std = float(parts["train"][0].mean()), float(parts["train"][0].std() or 1.0)
    size = parts["train"][0].shape[-1]
    return Data(
        name,
        _tensors(*parts["train"], mean, std),
        _tensors(*parts["test"], mean, std),
        len(classes),
        1,
        size,
        "mnist",
        classes,
    )


def load_mnist(root: str | Path | None = None, image_size: int | None = None) -> Data:
    """MNIST from its four IDX files under ``root``."""
    if root is None:
        raise UserError(f"mnist needs --data-root DIR; {_IDX_LAYOUT}")
    return _load_idx_set("mnist", Path(root), [str(i) for i in range(10)])


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_fashion_mnist(root: str | Path | None = None, image_size: int | None = None) -> Data:
    """Fashion-MNIST from IDX files under ``root`` (default: Debian's dataset-fashion-mnist location)."""
    if root is None:
        if not FASHION_MNIST_DEBIAN.is_dir():
            raise UserError(
                f"{FASHION_MNIST_DEBIAN}: not found; install Debian's dataset-fashion-mnist or pass --data-root DIR; {_IDX_LAYOUT}"
            )
        root = FASHION_MNIST_DEBIAN
    return _load_idx_set("fashion-mnist", Path(root), FASHION_CLASSES)


# --- CIFAR-10 ------------------------------------------------------------------------------------
class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only the plain containers and numpy arrays a CIFAR batch holds; nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _CifarUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {_CIFAR_LAYOUT}") from None
    except Exception as e:  # truncated / hostile / not a pickle
        raise UserError(f"{path}: not a CIFAR-10 batch ({e.__class__.__name__}: {e})") from None
    if not isinstance(d, dict):
        raise UserError(f"{path}: not a CIFAR-10 batch (expected a dict)")
    try:
        d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a CIFAR-10 batch (a key is not UTF-8 text)") from None
    data, labels = d.get("data"), d.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels is None:
        raise UserError(f"{path}: not a CIFAR-10 batch (expected 'data' (N, 3072) uint8 and 'labels')")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{path}: not a CIFAR-10 batch ('labels' must be integers)") from None
    if labels.ndim != 1 or len(labels) != len(data) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise UserError(f"{path}: labels do not match the images or lie outside 0..9")
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def load_cifar10(root: str | Path | None = None, image_size: int | None = None) -> Data:
    """CIFAR-10 from its python batches (loaded without running any pickled code)."""
    if root is None:
        raise UserError(f"cifar10 needs --data-root DIR; {_CIFAR_LAYOUT}")
    root = Path(root)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    if not root.is_dir():
        raise UserError(f"{root}: no such data directory for cifar10; {_CIFAR_LAYOUT}")
    train = [_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    xtr = np.concatenate([x for x, _ in train])
    ytr = np.concatenate([y for _, y in train])
    xte, yte = _cifar_batch(root / "test_batch")
    mean = xtr.mean(axis=(0, 2, 3))
    std = xtr.std(axis=(0, 2, 3))
    return Data("cifar10", _tensors(xtr, ytr, mean, std), _tensors(xte, yte, mean, std), 10, 3, 32, "cifar", CIFAR10_CLASSES)


# --- image folders (ImageNet layout) --------------------------------------------------------------
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp"}


# An image is resized (shorter side) before the centre crop: a 1 x 20000 strip would become
# 256 x 5,120,000 pixels, so the aspect ratio and the pixel count are checked from the header.
MAX_ASPECT = 16
MAX_PIXELS = 1 << 27  # 134 M pixels decoded (about 0.5 GB as RGBA)


def _check_image_header(path: Path, size: tuple[int, int], crop: int) -> None:
    """Refuse empty, enormous or extremely elongated images before they are decoded or resized."""
    w, h = size
    if w < 1 or h < 1:
        raise UserError(f"{path}: the image is {w}x{h} pixels (empty)")
    if w * h > MAX_PIXELS:
        raise UserError(f"{path}: the image header declares {w}x{h} pixels, more than {MAX_PIXELS:,}")
    if max(w, h) > MAX_ASPECT * min(w, h):
        long = round(max(w, h) * crop * 256 / 224 / min(w, h))
        raise UserError(
            f"{path}: a {w}x{h} image would be resized to {long:,} pixels along its long side; "
            f"images more elongated than {MAX_ASPECT}:1 are refused"
        )


class ImageFolder(Dataset):
    """Images under ``root/<class>/``, resized (shorter side) and centre-cropped to ``size``."""

    def __init__(self, root: Path, classes: list[str], size: int):
        self.size = size
        self.samples = [
            (p, i)
            for i, c in enumerate(classes)
            for p in sorted((root / c).iterdir())
            if p.suffix.lower() in _IMAGE_SUFFIXES
        ]
        if not self.samples:
            raise UserError(f"{root}: no images found; {_FOLDER_LAYOUT}")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[i]
        try:
            with Image.open(path) as im:
                _check_image_header(path, im.size, self.size)  # from the header, before decoding
                im = im.convert("RGB")
                scale = self.size * 256 / 224 / min(im.size)  # ImageNet's 256 -> 224 crop ratio
                im = im.resize((max(self.size, round(im.width * scale)), max(self.size, round(im.height * scale))))
                left, top = (im.width - self.size) // 2, (im.height - self.size) // 2
                im = im.crop((left, top, left + self.size, top + self.size))
                x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        except UserError:
            raise
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise UserError(f"{path}: not a readable image ({str(e)[:200]})") from None
        mean = torch.tensor(IMAGENET_MEAN).reshape(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).reshape(3, 1, 1)
        return (x - mean) / std, label


def load_imagefolder(root: str | Path | None = None, image_size: int | None = None) -> Data:
    """train/ and val/ folders of class sub-folders (the ImageNet layout)."""
    if root is None:
        raise UserError(f"imagefolder needs --data-root DIR; {_FOLDER_LAYOUT}")
    root = Path(root)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise UserError(f"{root / split}: missing; {_FOLDER_LAYOUT}")
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    if not classes:
        raise UserError(f"{root / 'train'}: no class folders; {_FOLDER_LAYOUT}")
    missing = [c for c in classes if not (root / "val" / c).is_dir()]
    if missing:
        raise UserError(f"{root / 'val'}: missing class folder {missing[0]!r}; {_FOLDER_LAYOUT}")
    size = image_size or 224
    return Data(
        "imagefolder",
        ImageFolder(root / "train", classes, size),
        ImageFolder(root / "val", classes, size),
        len(classes),
        3,
        size,
        "small" if size >= 64 else "cifar",
        classes,
    )


_DATASETS: dict[str, Callable[..., Data]] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "imagefolder": load_imagefolder,
}


def list_datasets() -> list[str]:
    """Names of the known data sets."""
    return list(_DATASETS)


def load_dataset(name: str, root: str | Path | None = None, image_size: int | None = None) -> Data:
    """Load a data set by name; ``root`` is its directory (unused for the embedded digits)."""
    try:
        loader = _DATASETS[name]
    except KeyError:
        raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(_DATASETS)}") from None
    return loader(root, image_size)


def batches(dataset: Dataset, batch_size: int, shuffle_seed: int | None = None, limit: int | None = None, workers: int = 0):
    """Yield ``(x, y)`` batches; in-memory sets are sliced directly (no DataLoader overhead)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    order = torch.arange(n)
    if shuffle_seed is not None:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(shuffle_seed))
    if isinstance(dataset, TensorDataset):
        x, y = dataset.tensors
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            yield x[idx], y[idx]
        return

    loader = DataLoader(Subset(dataset, order.tolist()), batch_size=batch_size, num_workers=workers)
    try:
        yield from loader
    except Exception as e:  # a worker's error comes back re-raised, its traceback in the message
        text = str(e)
        if isinstance(e, UserError) and "Traceback" not in text:
            raise
        if "UserError: " in text:  # the worker's own one-line message, which names the file
            raise UserError(text.rsplit("UserError: ", 1)[1].strip().splitlines()[0]) from None
        raise UserError(f"an image-loader worker failed ({text.strip().splitlines()[-1][:200] if text.strip() else e.__class__.__name__})") from None
