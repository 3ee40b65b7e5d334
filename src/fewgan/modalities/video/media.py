"""Clips as pictures: an animated GIF of a grid of clips, a PNG strip of frames (Pillow only)."""
from __future__ import annotations

import io
import math

import numpy as np

from ...report.grid import make_grid


def _upscale(n_side: int, min_side: int) -> int:
    return max(1, math.ceil(min_side / max(n_side, 1)))


MS_PER_FRAME = 100     # fewgan's GIFs play at 10 frames per second (clips carry no frame rate of their own)


def grid_gif(clips: np.ndarray, nrow: int | None = None, min_side: int = 256,
             ms_per_frame: int = MS_PER_FRAME) -> bytes:
    """uint8 (N, T, H, W, C) -> GIF bytes: one grid of all N clips per time step, looping."""
    from PIL import Image
    frames = [make_grid(clips[:, t], nrow) for t in range(clips.shape[1])]
    scale = _upscale(max(frames[0].shape[:2]), min_side)
    imgs = []
    for g in frames:
        im = Image.fromarray(g[..., 0] if g.shape[-1] == 1 else g)
        if scale > 1:
            im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
        imgs.append(im if im.mode == "L" else im.quantize(256))
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=ms_per_frame, loop=0)
    return buf.getvalue()


def strip_png(clips: np.ndarray, min_side: int = 512) -> bytes:
    """uint8 (N, T, H, W, C) -> PNG: one row per clip, one column per frame."""
    from PIL import Image
    n, t = clips.shape[:2]
    g = make_grid(clips.reshape(n * t, *clips.shape[2:]), t)
    im = Image.fromarray(g[..., 0] if g.shape[-1] == 1 else g)
    scale = _upscale(max(g.shape[:2]), min_side)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def frame_png(frame: np.ndarray) -> bytes:
    """uint8 (H, W, C) -> PNG bytes."""
    from PIL import Image
    im = Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def gif_tag(data: bytes, alt: str = "") -> str:
    import base64
    import html
    return f'<img alt="{html.escape(alt)}" src="data:image/gif;base64,{base64.b64encode(data).decode()}">'
