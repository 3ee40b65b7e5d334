"""Diagnostic: discriminator rejection of content frames. Each clip's content frame is the best of
k candidates by the trained frame D's own realness logit (no use of the metric's classifier), then
moved by G's motion as usual. Round 16 asked whether temporal consistency, lost on ambiguous
content frames (round 9), follows D's preference.

    python benchmarks/video_rejection_diag.py /tmp/fewgan-video-bench/warp-default10k-all 1,4,16

Needs the run's folder (config.json, checkpoint.pt) and the benchmark's cached encoder and classifier
(/tmp/fewgan-video-bench/cache); run from the repository root. k = 1 is the run as trained.
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "src")
import video as V  # noqa: E402


class BestOfK(torch.nn.Module):
    """G whose content code (z[:, 0]) is the best of k by D_frame; the other k - 1 candidates are
    drawn from a generator seeded by the batch's noise, so a sample is a function of its z."""
    def __init__(self, G, D_frame, k):
        super().__init__()
        self.G, self.D, self.k = G, D_frame, k

    def forward(self, z, c=None):
        if self.k == 1:
            return self.G(z, c)
        n = z.shape[0]
        gen = torch.Generator().manual_seed(int(z[0, 0, 0].item() * 1e6) % 2**31)
        cand = torch.cat([z[:, :1], torch.randn(n, self.k - 1, z.shape[2], generator=gen)], 1)   # (N, k, z_dim)
        score = self.D(self.G.frame(cand.flatten(0, 1), None), None).view(n, self.k)              # (N, k)
        z = z.clone()
        z[:, 0] = cand[torch.arange(n), score.argmax(1)]
        return self.G(z, c)


def main() -> None:
    torch.set_num_threads(1)
    eng = V.load_run(Path(sys.argv[1]))
    for k in [int(x) for x in sys.argv[2].split(",")]:
        r = V.score(eng, BestOfK(eng.G_ema, eng.D.frame.eval(), k).eval(), Path("/tmp/fewgan-video-bench/cache"), 0)
        print(json.dumps({"k": k, **{m: round(r[m], 4) for m in (
            "frame_fd", "clip_fd", "temporal_consistency", "frame_precision", "frame_recall", "frame_coverage",
            "speed_w1")}}), flush=True)


if __name__ == "__main__":
    main()
