"""Image grids as PNG (Pillow only; no torchvision)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def make_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """images: uint8 (N, H, W, C) -> one uint8 (rows*H', cols*W', C) mosaic with a dark border."""
    n, h, w, c = images.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 32, np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = images[i]
    return grid


def save_grid(images: np.ndarray, path: Path, nrow: int | None = None, min_side: int = 256) -> None:
    from ..train.checkpoint import atomic_write_bytes
    atomic_write_bytes(Path(path), grid_png(images, nrow, min_side))


def grid_png(images: np.ndarray, nrow: int | None = None, min_side: int = 256) -> bytes:
    """uint8 (N, H, W, C) -> PNG bytes of the mosaic, upscaled (nearest) to at least min_side."""
    import io
    from PIL import Image
    grid = make_grid(images, nrow)
    img = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    scale = max(1, math.ceil(min_side / max(grid.shape[:2])))  # upscale tiny grids so they can be seen
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
