"""Diagnostic: score a finished video benchmark run's G_ema with its content code scaled by psi
(the truncation trick: psi < 1 draws more typical content frames). Round 12 used it to ask whether
temporal consistency is lost on atypical content codes.

    python benchmarks/video_truncation_diag.py /tmp/fewgan-video-bench/warp-default10k-all 1.0,0.7,0.5

Needs the run's folder (config.json, checkpoint.pt) and the benchmark's cached encoder and classifier
(/tmp/fewgan-video-bench/cache); run from the repository root.
"""
import sys, json, torch
from pathlib import Path
sys.path.insert(0, "benchmarks"); sys.path.insert(0, "src")
import video as V
torch.set_num_threads(1)
eng = V.load_run(Path(sys.argv[1]))
class Trunc(torch.nn.Module):
    def __init__(self, G, psi):
        super().__init__(); self.G, self.psi = G, psi
    def forward(self, z, c=None):
        z = z.clone(); z[:, 0] = z[:, 0] * self.psi
        return self.G(z, c)
for psi in [float(p) for p in sys.argv[2].split(",")]:
    r = V.score(eng, Trunc(eng.G_ema, psi).eval(), Path("/tmp/fewgan-video-bench/cache"), 0)
    print(json.dumps({"psi": psi, **{k: round(r[k], 4) for k in ("frame_fd", "clip_fd", "temporal_consistency", "frame_coverage", "frame_recall", "speed_w1", "frame_precision")}}), flush=True)
