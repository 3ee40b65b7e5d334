"""Diagnostic: how much of the warp model's temporal-consistency gap is its content frames? The
trained warp run's motion (GRU + shifts, G_ema) moves three kinds of content frame, each scored with
the benchmark's full metrics: its own frame generator's (the run as trained), the frame-only
baseline's image GAN (the sharpest frames at this budget, benchmarks/video.py run --model frames),
and real first frames (the ceiling of the motion model). Two motion checks beside them: the share of
frames whose intensity centroid is within 6 px of the canvas edge, and the share whose total
intensity is off the clip's first frame's by more than 10% (a digit cut by the edge, or smeared by
the border padding); both are 0 for moving-digits, whose digits bounce inside the canvas.

    python benchmarks/video_moved_frames_diag.py WARP_RUN FRAMES_RUN
    # e.g. /tmp/fewgan-video-bench/warp-default-all /tmp/fewgan-video-bench/frames-all

Needs both runs' folders (same --res, --z-dim and frame-generator width) and the benchmark's cached
encoder and classifier (/tmp/fewgan-video-bench/cache); run from the repository root.
"""
import copy
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "src")
import video as V  # noqa: E402


class RealContent(torch.nn.Module):
    """The warp G with its content frame replaced by a real clip's first frame, picked by a generator
    seeded from the batch's noise (a sample is a function of its z)."""
    def __init__(self, G, real):
        super().__init__()
        self.G, self.real = G, real                               # real: (N, L, C, H, W) in [-1, 1]

    def forward(self, z, c=None):
        n, t = z.shape[0], z.shape[1] - 2
        gen = torch.Generator().manual_seed(int(z[0, 0, 0].item() * 1e6) % 2**31)
        base = self.real[torch.randint(len(self.real), (n,), generator=gen), 0].float()
        return self.G.move(base, self.G.warp(self.G.motion(z)).reshape(n * t, -1), t)


def edge_checks(clips: torch.Tensor) -> dict:
    """clips (N, T, C, H, W) in [-1, 1] -> near-edge and mass-change shares of their frames."""
    x = (clips.float() + 1) / 2
    x = x.sum(2)                                                  # (N, T, H, W)
    h, w = x.shape[-2:]
    mass = x.sum((2, 3)) + 1e-6                                   # (N, T)
    cy = (x.sum(3) * torch.arange(h).float()).sum(2) / mass
    cx = (x.sum(2) * torch.arange(w).float()).sum(2) / mass
    near = (cx < 6) | (cx > w - 7) | (cy < 6) | (cy > h - 7)
    changed = ((mass / mass[:, :1]) - 1).abs() > 0.1
    return {"near_edge_share": round(float(near.float().mean()), 4),
            "mass_change_share": round(float(changed.float().mean()), 4)}


def main() -> None:
    torch.set_num_threads(1)
    warp, frames = V.load_run(Path(sys.argv[1])), V.load_run(Path(sys.argv[2]))
    moved = copy.deepcopy(warp.G_ema)
    moved.frame.load_state_dict(frames.G_ema.frame.state_dict())
    cache = Path("/tmp/fewgan-video-bench/cache")
    z = torch.randn(1000, warp.cfg.options.frames + 2, warp.cfg.z_dim, generator=torch.Generator().manual_seed(3))
    print(json.dumps({"content": "real clips", **edge_checks(warp.prep.x[:1000, :warp.cfg.options.frames])}))
    for name, G in [("own content frames (as trained)", warp.G_ema), ("frame-only GAN's frames, moved", moved),
                    ("real first frames, moved", RealContent(warp.G_ema, warp.prep.x))]:
        r = V.score(warp, G.eval(), cache, 0)
        with torch.no_grad():
            r.update(edge_checks(G(z)))
        print(json.dumps({"content": name, **{m: round(r[m], 4) for m in (
            "frame_fd", "clip_fd", "temporal_consistency", "static_share", "speed_w1", "frame_precision",
            "frame_recall", "near_edge_share", "mass_change_share")}}), flush=True)


if __name__ == "__main__":
    main()
