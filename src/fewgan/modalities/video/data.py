"""Video sources: built-in moving digits, arrays, animated GIFs, folders of frames, MP4/AVI.

Every loader returns ``VideoData(x, y, name, ...)`` with x float32 (N, L, C, H, W) in [0, 1] at the
source's own size and length, y int64 (N,) or None. Windows of --frames frames and resizing to the
training resolution happen in the codec (modality.py). Every failure is one UsageError line that
names the problem and the fix.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data import read_npy
from ...errors import UsageError

FRAME_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
MOVIE_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


@dataclass
class VideoData:
    x: np.ndarray              # (N, L, C, H, W) float32 in [0, 1]
    y: np.ndarray | None       # (N,) int64 class ids, or None
    name: str
    classes: list[str] | None = None
    natural_res: int = 32
    layout: str = "NTCHW"      # how the source stored its axes (stated in `info`)


# -- built-in datasets --------------------------------------------------------------------------

def bouncing(sprites: np.ndarray, frames: int, canvas: int, seed: int, speed: tuple[float, float]) -> np.ndarray:
    """Each sprite (N, s, s) in [0, 1] moves in a straight line on a canvas x canvas frame and
    reflects at the borders; uniform start position, speed (px/frame) and direction, all fixed by
    the seed. Returns (N, frames, 1, canvas, canvas) float32."""
    n, s = len(sprites), sprites.shape[-1]
    rng = np.random.default_rng(seed)
    span = canvas - s
    pos = rng.uniform(0, span, (n, 2))
    ang = rng.uniform(0, 2 * np.pi, n)
    vel = rng.uniform(*speed, n)[:, None] * np.stack([np.cos(ang), np.sin(ang)], 1)
    out = np.zeros((n, frames, 1, canvas, canvas), np.float32)
    for t in range(frames):
        ij = np.rint(pos).astype(int)
        for k in range(n):
            a, b = ij[k]
            out[k, t, 0, a:a + s, b:b + s] = np.maximum(out[k, t, 0, a:a + s, b:b + s], sprites[k])
        pos = pos + vel
        for d in range(2):   # reflect at the borders
            lo, hi = pos[:, d] < 0, pos[:, d] > span
            pos[lo, d], vel[lo, d] = -pos[lo, d], -vel[lo, d]
            pos[hi, d], vel[hi, d] = 2 * span - pos[hi, d], -vel[hi, d]
    return out


def _resize_sprites(img: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(img.astype(np.float32))[:, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)[:, 0].numpy()


def moving_digits(seed: int, frames: int, res: int | None, clips: int) -> VideoData:
    """scikit-learn digits (8x8, upscaled to half the canvas) bouncing on a 32x32 (or --res) canvas."""
    from sklearn.datasets import load_digits
    d = load_digits()
    canvas = res or 32
    idx = np.arange(clips) % len(d.images)
    sprites = _resize_sprites(d.images[idx] / 16.0, canvas // 2)
    x = bouncing(sprites, frames, canvas, seed, (canvas / 32, 3 * canvas / 32))
    return VideoData(x, d.target[idx].astype(np.int64), "moving-digits", [str(i) for i in range(10)], canvas)


def mnist_dir() -> Path:
    """../shared/data/mnist next to the repository (or the working directory)."""
    here = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "mnist"
    return here if here.is_dir() else Path("..", "shared", "data", "mnist")


def moving_mnist(seed: int, frames: int, res: int | None, clips: int) -> VideoData:
    """One MNIST digit (28 px) bouncing on a 64x64 (or --res) canvas, label = the digit."""
    from ...data.image import _read_idx
    root = mnist_dir()
    files = sorted(root.glob("*images-idx3*")) if root.is_dir() else []
    if not files:
        raise UsageError(f"moving-mnist needs MNIST IDX files in {root}: put t10k-images-idx3-ubyte.gz "
                         "(and labels) there, or use --data moving-digits")
    img = _read_idx(files[0])
    lab_file = files[0].parent / files[0].name.replace("images-idx3", "labels-idx1")
    y = _read_idx(lab_file).astype(np.int64) if lab_file.exists() else None
    canvas = res or 64
    idx = np.random.default_rng(seed).permutation(len(img))[:clips] if clips <= len(img) else np.arange(clips) % len(img)
    size = max(4, round(28 * canvas / 64))
    sprites = img[idx] / 255.0 if size == 28 else _resize_sprites(img[idx] / 255.0, size)
    x = bouncing(sprites, frames, canvas, seed, (2 * canvas / 64, 5 * canvas / 64))
    return VideoData(x, None if y is None else y[idx], "moving-mnist",
                     None if y is None else [str(i) for i in range(10)], canvas)


BUILTIN = {"moving-digits": moving_digits, "moving-mnist": moving_mnist}


# -- arrays -------------------------------------------------------------------------------------

def from_arrays(arr, y=None, name: str = "array") -> VideoData:
    """(N, T, H, W, C) or (N, T, C, H, W), uint8 0..255 or float 0..1 / -1..1, C in 1 or 3."""
    if hasattr(arr, "detach"):
        arr = arr.detach().cpu().numpy()
    arr = np.asarray(arr)
    if arr.ndim == 4 and arr.shape[-1] in (1, 3):
        raise UsageError(f"{name}: array shape {arr.shape} looks like images (N,H,W,C), not clips: "
                         "add a time axis, (N,T,H,W,C), or train it with 'fewgan train image'")
    if arr.ndim == 4:
        raise UsageError(f"{name}: array shape {arr.shape} has no channel axis: use (N,T,H,W,C) or "
                         "(N,T,C,H,W), e.g. x[..., None] for grey clips")
    if arr.ndim != 5:
        raise UsageError(f"{name}: array shape {arr.shape} is not clips (no time axis): use (N,T,H,W,C) "
                         "or (N,T,C,H,W) with C in 1 or 3")
    if arr.shape[-1] in (1, 3):
        layout, arr = "NTHWC", arr.transpose(0, 1, 4, 2, 3)
    elif arr.shape[2] in (1, 3):
        layout = "NTCHW"
    else:
        raise UsageError(f"{name}: array shape {arr.shape} has no channel axis of size 1 or 3: use "
                         "(N,T,H,W,C) or (N,T,C,H,W)")
    if arr.shape[0] == 0 or arr.shape[1] < 2:
        raise UsageError(f"{name}: {arr.shape[0]} clips of {arr.shape[1]} frames: pass at least one clip "
                         "of two or more frames")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise UsageError(f"{name}: dtype {arr.dtype} is not numeric: use uint8 or float clips")
    x = arr.astype(np.float32)
    if not np.isfinite(x).all():
        raise UsageError(f"{name}: contains NaN or inf: clean the clips first")
    lo, hi = float(x.min()), float(x.max())
    if arr.dtype == np.uint8 or hi > 1.0:
        if lo < 0 or hi > 255:
            raise UsageError(f"{name}: values span [{lo:g}, {hi:g}]: use uint8 0..255, float 0..1 or -1..1")
        x = x / 255.0
    elif lo < 0:
        if lo < -1.0:
            raise UsageError(f"{name}: values span [{lo:g}, {hi:g}]: use uint8 0..255, float 0..1 or -1..1")
        x = (x + 1) / 2
    if y is not None:
        y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise UsageError(f"{name}: labels must be {x.shape[0]} non-negative integers, got shape {y.shape}")
        y = y.astype(np.int64)
    return VideoData(np.ascontiguousarray(x), y, name, None, _natural_res(x.shape[-2:]), layout)


def _natural_res(hw) -> int:
    from ...data.image import _natural_res as image_res     # the sizes the frame networks support
    return image_res(min(hw))


def _load_npy(path: Path) -> VideoData:
    x, y = read_npy(path, ("x", "clips", "videos"), "clip")
    return from_arrays(x, y, str(path))


# -- files and folders --------------------------------------------------------------------------

def _frame_array(im) -> np.ndarray:
    """A PIL frame -> (H, W) uint8 when it is grey (whatever its mode: Pillow hands later GIF frames
    over as RGB), else (H, W, 3)."""
    if im.mode in ("L", "1", "LA", "I;16", "I"):
        return np.asarray(im.convert("L"))
    rgb = np.asarray(im.convert("RGB"))
    return rgb[..., 0].copy() if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all() else rgb


def read_gif(path: Path) -> list[np.ndarray]:
    from PIL import Image, ImageSequence, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            frames = [_frame_array(f.copy()) for f in ImageSequence.Iterator(im)]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise UsageError(f"{path}: cannot read the GIF ({e.__class__.__name__}): remove or replace the corrupt file") from None
    if len(frames) < 2:
        raise UsageError(f"{path}: a still image (one frame), not a clip: pass animated GIFs of two or more frames")
    return frames


def read_frame_folder(folder: Path) -> list[np.ndarray]:
    from PIL import Image, UnidentifiedImageError
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTS and p.is_file())
    frames = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                frames.append(_frame_array(im))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise UsageError(f"{f}: cannot read frame ({e.__class__.__name__}): remove or replace the corrupt file") from None
    if len(frames) < 2:
        raise UsageError(f"{folder}: {len(frames)} frame(s): a clip needs two or more numbered frames")
    return frames


def read_movie(path: Path) -> list[np.ndarray]:
    try:
        import av
    except ImportError:
        raise UsageError(f"{path}: reading {path.suffix} needs PyAV: pip install 'fewgan[video]' (or pip install "
                         "av), or convert the clips to GIF / frame folders") from None
    try:
        with av.open(str(path)) as box:
            frames = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    except Exception as e:   # PyAV raises its own error classes for every kind of bad file
        raise UsageError(f"{path}: cannot decode the video ({e.__class__.__name__}): is the file corrupt?") from None
    if len(frames) < 2:
        raise UsageError(f"{path}: {len(frames)} frame(s): a clip needs two or more frames")
    return frames


def _read_clip(p: Path) -> list[np.ndarray]:
    if p.is_dir():
        return read_frame_folder(p)
    if p.suffix.lower() == ".gif":
        return read_gif(p)
    return read_movie(p)


def _is_clip(p: Path) -> bool:
    return (p.is_file() and p.suffix.lower() in MOVIE_EXTS | {".gif"}) or (
        p.is_dir() and any(q.suffix.lower() in FRAME_EXTS for q in p.iterdir()))


def _stack(clips: list[list[np.ndarray]], paths: list[Path], source: str) -> np.ndarray:
    """Clips of lists of frames -> (N, L, H, W, C) uint8; lengths and sizes must agree."""
    first = clips[0]
    for c, p in zip(clips, paths):
        shapes = {f.shape[:2] for f in c}
        if len(shapes) > 1:
            raise UsageError(f"{p}: frames of different sizes {sorted(shapes)}: resize all frames to one size")
        if c[0].shape[:2] != first[0].shape[:2]:
            (h1, w1), (h2, w2) = first[0].shape[:2], c[0].shape[:2]
            raise UsageError(f"{source}: clips of different sizes ({paths[0].name} is {w1}x{h1}, {p.name} is "
                             f"{w2}x{h2}): resize all clips to one size first")
        if len(c) != len(first):
            raise UsageError(f"{source}: clips of different lengths ({paths[0].name} has {len(first)} frames, "
                             f"{p.name} has {len(c)}): cut all clips to one length first")
    rgb = any(f.ndim == 3 for c in clips for f in c)
    arr = np.stack([np.stack([np.repeat(f[..., None], 3, -1) if rgb and f.ndim == 2 else
                              (f if f.ndim == 3 else f[..., None]) for f in c]) for c in clips])
    return arr


def _load_folder(path: Path) -> VideoData:
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if any(_is_clip(p) for p in entries):
        groups = {".": [p for p in entries if _is_clip(p)]}
    else:   # sub-folders of clips = classes
        groups = {p.name: sorted(q for q in p.iterdir() if _is_clip(q)) for p in entries if p.is_dir()}
        groups = {k: v for k, v in groups.items() if v}
    paths = [p for v in groups.values() for p in v]
    if not paths:
        raise UsageError(f"{path}: holds no clips: use GIFs, videos, or one sub-folder of numbered frames per clip")
    clips = [_read_clip(p) for p in paths]
    arr = _stack(clips, paths, str(path))
    classes = list(groups) if len(groups) >= 2 else None
    y = np.concatenate([np.full(len(v), i) for i, v in enumerate(groups.values())]).astype(np.int64) if classes else None
    data = from_arrays(arr, y, str(path))
    data.classes, data.layout = classes, "folder"
    return data


def load_video(source: str, seed: int, frames: int, res: int | None, clips: int) -> VideoData:
    """A built-in dataset name, a .npy/.npz, a .gif or video file, or a folder of clips."""
    if source in BUILTIN:
        return BUILTIN[source](seed, frames, res, clips)
    path = Path(source).expanduser()
    if not path.exists():
        looks_like_name = os.sep not in source and "." not in source
        hint = f"choose a built-in dataset ({', '.join(BUILTIN)}) or a path" if looks_like_name else "check the path"
        raise UsageError(f"--data {source!r}: no such dataset or file: {hint}")
    suffix = path.suffix.lower()
    if path.is_dir():
        return _load_folder(path)
    if suffix in (".npy", ".npz"):
        return _load_npy(path)
    if suffix == ".gif" or suffix in MOVIE_EXTS:
        data = from_arrays(_stack([_read_clip(path)], [path], str(path)), None, str(path))
        data.layout = "gif" if suffix == ".gif" else "video"
        return data
    if suffix in FRAME_EXTS:
        raise UsageError(f"{path}: a single image is not a clip: pass a folder of numbered frames")
    raise UsageError(f"{path}: unsupported file type: use .npy/.npz, .gif, .mp4/.avi or a folder of clips")
