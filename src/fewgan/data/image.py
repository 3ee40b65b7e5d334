"""Image sources: built-in offline datasets and user files, all returned as uint8/float arrays.

Every loader returns ``ImageData(x, y, name)`` with x float32 (N, C, H, W) in [0, 1] at the
source's own size, y int64 (N,) or None. Resizing to the training resolution and scaling to
[-1, 1] happen in the codec (fewgan.modalities.image), so loaders stay simple and testable.
Every failure is a UsageError that names the problem and the fix.
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import read_npy
from ..errors import UsageError
from ..registry import DATASETS

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class ImageData:
    x: np.ndarray              # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray | None       # (N,) int64 class ids, or None
    name: str
    classes: list[str] | None = None
    natural_res: int = 32      # the resolution this source trains at by default


def _skimage_data_dir() -> Path:
    try:
        import skimage
    except ImportError as e:  # pragma: no cover - declared dependency
        raise UsageError("scikit-image is needed for this dataset: pip install scikit-image") from e
    return Path(os.path.dirname(skimage.__file__)) / "data"


@DATASETS.register("digits")
def load_digits_dataset(seed: int = 0) -> ImageData:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]              # (1797, 1, 8, 8)
    return ImageData(x, d.target.astype(np.int64), "digits", [str(i) for i in range(10)], 32)


@DATASETS.register("faces100")
def load_faces100(seed: int = 0) -> ImageData:
    # lfw_subset.npy holds 100 faces followed by 100 non-faces, 25x25 grey in [0, 1].
    arr = np.load(_skimage_data_dir() / "lfw_subset.npy")[:100].astype(np.float32)
    return ImageData(arr[:, None], None, "faces100", None, 32)


@DATASETS.register("histology")
def load_histology(seed: int = 0, n: int = 1000, patch: int = 64) -> ImageData:
    # Random 64-px patches of the immunohistochemistry slide (512x512 RGB), fixed by the seed.
    # They train at 32 px unless --res says otherwise (--res 64 uses them at full resolution).
    from PIL import Image
    img = np.asarray(Image.open(_skimage_data_dir() / "ihc.png").convert("RGB"), np.float32) / 255.0
    rng = np.random.default_rng(seed)
    h, w, _ = img.shape
    ys = rng.integers(0, h - patch + 1, n)
    xs = rng.integers(0, w - patch + 1, n)
    x = np.stack([img[a:a + patch, b:b + patch] for a, b in zip(ys, xs)]).transpose(0, 3, 1, 2)
    return ImageData(np.ascontiguousarray(x), None, "histology", None, 32)


def _fundus_mask(img: np.ndarray) -> np.ndarray:
    """(H, W) bool: inside the fundus. Outside it the photo is near-black (< 8/255 in every channel
    after a 5x5 box blur, which keeps dark vessels inside the disc from counting as background)."""
    from scipy.ndimage import uniform_filter
    return uniform_filter(img.max(axis=2), size=5) > 8 / 255


def _patches_inside(img: np.ndarray, mask: np.ndarray, n: int, patch: int, seed: int) -> np.ndarray:
    """n patches (n, C, patch, patch) whose every pixel lies inside mask, positions fixed by seed."""
    from scipy.ndimage import minimum_filter
    # A top-left corner is allowed when the patch window below/right of it is all inside the mask.
    inside = minimum_filter(mask.astype(np.uint8), size=patch, origin=-(patch // 2))[: -patch + 1, : -patch + 1]
    ys, xs = np.nonzero(inside)
    pick = np.random.default_rng(seed).choice(len(ys), n, replace=len(ys) < n)
    x = np.stack([img[a:a + patch, b:b + patch] for a, b in zip(ys[pick], xs[pick])])
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@DATASETS.register("retina")
def load_retina(seed: int = 0, n: int = 800, patch: int = 64) -> ImageData:
    # Patches of the fundus photograph retina.jpg (1411x1411 RGB), at half scale so a 64-px patch
    # holds vessel branches rather than one vessel edge; only from inside the fundus (no black
    # background), positions fixed by the seed.
    from PIL import Image
    with Image.open(_skimage_data_dir() / "retina.jpg") as im:
        im = im.convert("RGB")
        im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)      # 705 x 705
    img = np.asarray(im, np.float32) / 255.0
    x = _patches_inside(img, _fundus_mask(img), n, patch, seed)
    return ImageData(x, None, "retina", None, 64)


@DATASETS.register("microaneurysms")
def load_microaneurysms(seed: int = 0, n: int = 500, patch: int = 32) -> ImageData:
    # microaneurysms.png is one 102x102 grey retina crop: 32-px patches at seeded positions, each
    # flipped/rotated by one of the 8 symmetries of the square (seeded too) so 500 patches are
    # not all near-copies; they still overlap heavily, so this is a very small dataset.
    from PIL import Image
    with Image.open(_skimage_data_dir() / "microaneurysms.png") as im:
        img = np.asarray(im.convert("L"), np.float32) / 255.0                   # (102, 102)
    rng = np.random.default_rng(seed)
    h, w = img.shape
    ys, xs = rng.integers(0, h - patch + 1, n), rng.integers(0, w - patch + 1, n)
    rot, flip = rng.integers(0, 4, n), rng.integers(0, 2, n)
    out = []
    for a, b, r, f in zip(ys, xs, rot, flip):
        p = np.rot90(img[a:a + patch, b:b + patch], r)
        out.append(p[:, ::-1] if f else p)
    return ImageData(np.ascontiguousarray(np.stack(out)[:, None]), None, "microaneurysms", None, 32)


# -- user files ---------------------------------------------------------------------------------

def _to_nchw01(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)                               # NHWC -> NCHW
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise UsageError(f"{source}: array shape {arr.shape} is not images: "
                         "use (N,H,W), (N,H,W,C) or (N,C,H,W) with C in 1 or 3")
    if arr.shape[0] == 0:
        raise UsageError(f"{source}: holds no images: pass a non-empty array")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise UsageError(f"{source}: dtype {arr.dtype} is not numeric: use uint8 or float images")
    x = arr.astype(np.float32)
    if not np.isfinite(x).all():
        raise UsageError(f"{source}: contains NaN or inf: clean the images first")
    if arr.dtype == np.uint8 or x.max() > 1.0:
        if x.min() < 0 or x.max() > 255:
            raise UsageError(f"{source}: values span [{x.min():g}, {x.max():g}]: "
                             "use uint8 0..255, float 0..1 or float -1..1")
        x = x / 255.0
    elif x.min() < 0:
        if x.min() < -1.0:
            raise UsageError(f"{source}: values span [{x.min():g}, {x.max():g}]: "
                             "use uint8 0..255, float 0..1 or float -1..1")
        x = (x + 1) / 2
    if x.shape[2] != x.shape[3]:
        raise UsageError(f"{source}: images are {x.shape[2]}x{x.shape[3]}, not square: crop them first")
    return np.ascontiguousarray(x)


def from_arrays(x, y=None, name: str = "array") -> ImageData:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = _to_nchw01(np.asarray(x), name)
    if y is not None:
        y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise UsageError(f"{name}: labels must be {x.shape[0]} non-negative integers, got shape {y.shape}")
        y = y.astype(np.int64)
    return ImageData(x, y, name, None, _natural_res(x.shape[-1]))


def _natural_res(side: int) -> int:
    # Closest size the networks support (b * 2**k, 4 <= b < 8), clamped to 8..128.
    ok = [b * 2 ** k for k in range(1, 6) for b in range(4, 8) if 8 <= b * 2 ** k <= 128]
    return min(ok, key=lambda r: (abs(r - side), -r))


def _load_npy(path: Path) -> ImageData:
    x, y = read_npy(path, ("x", "images"), "image")
    return from_arrays(x, y, str(path))


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("bad magic")
        dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
        return data.reshape(dims)
    except (OSError, ValueError, struct.error, EOFError) as e:
        raise UsageError(f"{path}: not a valid uint8 IDX file ({e}): is it corrupt or truncated?") from None


def _load_idx(path: Path) -> ImageData:
    if path.is_dir():
        imgs = sorted(p for p in path.iterdir() if "idx3" in p.name)
        if not imgs:
            raise UsageError(f"{path}: no *idx3-ubyte(.gz) image file in this folder")
        path = imgs[0]
    x = _read_idx(path)
    if x.ndim != 3:
        raise UsageError(f"{path}: IDX images must be 3-d (N, H, W), got {x.shape}")
    lab = path.parent / path.name.replace("images-idx3", "labels-idx1")
    y = _read_idx(lab).astype(np.int64) if lab != path and lab.exists() else None
    if y is not None and y.shape != (x.shape[0],):
        raise UsageError(f"{lab}: {y.shape[0]} labels for {x.shape[0]} images: use matching files")
    return from_arrays(x, y, path.name)


def _load_folder(path: Path) -> ImageData:
    from PIL import Image, UnidentifiedImageError
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    if not files:
        raise UsageError(f"{path}: folder holds no images (png/jpg/...): point --data at a folder of images")
    imgs, sizes = [], {}
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                imgs.append(_pil_to_float01(im))
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise UsageError(f"{f}: cannot read image ({e.__class__.__name__}): remove or replace the corrupt file") from None
        sizes.setdefault(imgs[-1].shape[:2], f)
    if len(sizes) > 1:
        (s1, f1), (s2, f2) = list(sizes.items())[:2]
        raise UsageError(f"{path}: mixed image sizes ({f1.name} is {s1[1]}x{s1[0]}, {f2.name} is "
                         f"{s2[1]}x{s2[0]}): resize all images to one size first")
    rgb = any(a.ndim == 3 for a in imgs)
    arr = np.stack([np.repeat(a[..., None], 3, -1) if rgb and a.ndim == 2 else a for a in imgs])
    # Labels from sub-folder names when images sit in two or more sub-folders.
    parents = [f.parent.relative_to(path).as_posix() for f in files]
    classes = sorted(set(parents))
    y = None
    if len(classes) >= 2 and "." not in classes:
        y = np.array([classes.index(p) for p in parents], np.int64)
    data = from_arrays(arr, y, str(path))
    data.classes = classes if y is not None else None
    return data


def _pil_to_float01(im) -> np.ndarray:
    """(H, W) or (H, W, 3) float32 in [0, 1]; 16-bit and float greys are rescaled, not clipped."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(im, dtype=np.float32) / 65535.0
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
    arr = np.asarray(im.convert("L" if im.mode in ("L", "1", "LA") else "RGB"))
    return arr.astype(np.float32) / 255.0


def load_images(source: str, seed: int = 0) -> ImageData:
    """A built-in dataset name, a folder of images, a .npy/.npz file or an IDX(.gz) file/folder."""
    if source in DATASETS:
        return DATASETS.get(source)(seed=seed)
    path = Path(source).expanduser()
    if not path.exists():
        looks_like_name = os.sep not in source and "." not in source
        hint = (f"choose a built-in dataset ({', '.join(DATASETS.names())}) or a path"
                if looks_like_name else "check the path")
        raise UsageError(f"--data {source!r}: no such dataset or file: {hint}")
    name = path.name.lower()
    if path.is_file() and name.endswith((".npy", ".npz")):
        return _load_npy(path)
    if ("idx" in name and path.is_file()) or (path.is_dir() and any("idx3" in p.name for p in path.iterdir())):
        return _load_idx(path)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() in IMAGE_EXTS:
        raise UsageError(f"{path}: a single image is not a dataset: pass the folder that holds the images")
    raise UsageError(f"{path}: unsupported file type: use a folder of images, .npy/.npz or IDX(.gz)")
