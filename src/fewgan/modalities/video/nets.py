"""Video networks: decomposed generators (content + motion) and a two-headed discriminator.

Both generators split a clip into content fixed per clip and a motion code per frame from a GRU
run over per-frame noise, and use the image modality's DCGAN frame generator (fewgan.nets.image):
- `warp` (the default): the frame generator makes ONE frame per clip from the content code, and
  each frame of the clip is that frame moved by a warp the GRU's code gives (a shift, or a full
  affine map). Identity cannot drift (every frame is the same content), the frame generator runs
  once per clip instead of T times, and the clip D only has to teach motion. It cannot make
  content that changes shape or appears; `mocogan` can.
- `mocogan` (Tulyakov et al. 2018): [content, motion_t] feeds the frame generator for every frame.
Noise layout per clip: (T + 2, z_dim) = row 0 the content code, row 1 the GRU's initial state,
rows 2.. one input per frame (so longer noise gives longer clips). Baselines with the same frame
generator: `frames` (an independent code per frame, no motion model) and `static` (the content
code on every frame).
D: a frame head (the image modality's DCGAN discriminator on d_frames random frames per clip) and
a clip head (3-D convolutions over the frames and their differences); both take clips
(N, T, C, H, W) and return one logit per clip, and each has its own loss and R1 (phases.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...nets.image import ImageDiscriminator, ImageGenerator, stages_for


class VideoGenerator(nn.Module):
    def __init__(self, res: int, channels: int, z_dim: int, motion_dim: int, width: int, n_classes: int = 0,
                 model: str = "warp", warp: str = "translation"):
        super().__init__()
        self.res, self.channels, self.z_dim, self.model = res, channels, z_dim, model
        if model in ("mocogan", "warp"):         # the motion model: a GRU over per-frame noise
            self.h0 = nn.Linear(z_dim, motion_dim)
            self.gru = nn.GRU(z_dim, motion_dim, batch_first=True)
        if model == "mocogan":
            self.frame = ImageGenerator(res, channels, z_dim + motion_dim, width, n_classes)
        elif model == "warp":
            # one frame per clip from the content code; the GRU's motion codes become one affine
            # warp of that frame per frame. The last layer starts at zero: clips start static
            # (identity warps) and the clip D pushes motion in.
            self.warp_kind = warp
            self.warp = nn.Linear(motion_dim, 2 if warp == "translation" else 6)
            nn.init.zeros_(self.warp.weight)
            nn.init.zeros_(self.warp.bias)
            self.frame = ImageGenerator(res, channels, z_dim, width, n_classes)
        else:
            self.frame = ImageGenerator(res, channels, z_dim, width, n_classes)
        self.n_classes = n_classes

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        # z: (N, T + 2, z_dim) -> frame codes (N, T, code_dim)
        n, t = z.shape[0], z.shape[1] - 2
        if self.model == "frames":
            return z[:, 2:]
        content = z[:, :1].expand(n, t, z.shape[2])
        if self.model == "static":
            return content
        return torch.cat([content, self.motion(z)], 2)

    def warped(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """The content frame moved by one affine map per frame, each relative to the content frame
        (not to the previous frame: one bilinear resampling per frame, no blur that builds up)."""
        n, t = z.shape[0], z.shape[1] - 2
        base = self.frame(z[:, 0], c)                                          # (N, C, H, W)
        return self.move(base, self.warp(self.motion(z)).reshape(n * t, -1), t)

    def move(self, base: torch.Tensor, delta: torch.Tensor, t: int) -> torch.Tensor:
        """Frames (N, C, H, W) moved by (N*t, 2 or 6) warp offsets from the identity -> (N, t, C, H, W)."""
        n = base.shape[0]
        eye = torch.eye(2, 3, dtype=base.dtype, device=base.device)
        if self.warp_kind == "translation":                                    # shift only: the last column
            delta = F.pad(delta.unsqueeze(2), (2, 0)).view(n * t, 2, 3)
        theta = eye + delta.view(n * t, 2, 3)                                  # (N*T, 2, 3)
        size = (n * t, self.channels, self.res, self.res)
        grid = F.affine_grid(theta, size, align_corners=False)                 # (N*T, H, W, 2)
        frames = base.unsqueeze(1).expand(n, t, *base.shape[1:]).reshape(size)
        # border padding: what enters the frame repeats the edge (background, for objects on one)
        out = F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out.view(n, t, self.channels, self.res, self.res)

    def motion(self, z: torch.Tensor) -> torch.Tensor:
        # z: (N, T + 2, z_dim) -> GRU motion codes (N, T, motion_dim)
        h0 = torch.tanh(self.h0(z[:, 1])).unsqueeze(0)            # (1, N, motion_dim)
        return self.gru(z[:, 2:], h0)[0]

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # z: (N, T + 2, z_dim), c: (N,) labels -> clips (N, T, C, res, res) in [-1, 1]
        if self.model == "warp":
            return self.warped(z, c)
        return self.draw(self.codes(z), c)

    def draw(self, codes: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # codes (N, T, code_dim) -> frames (N, T, C, res, res): one frame-generator pass per frame
        n, t = codes.shape[:2]
        cc = None if c is None else c.repeat_interleave(t)
        return self.frame(codes.reshape(n * t, -1), cc).view(n, t, self.channels, self.res, self.res)


class ClipDiscriminator(nn.Module):
    """3-D convs over [frames, frame differences]: time halves from the second layer on."""

    def __init__(self, res: int, channels: int, width: int, n_classes: int = 0, spectral_norm: bool = True):
        super().__init__()
        stages_for(res)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        w = [2 * width, 4 * width, 8 * width]
        layers, cin = [], 2 * channels
        for i, cout in enumerate(w):
            stride = (1 if i == 0 else 2, 2, 2)                    # time kept in layer 1, then halved
            layers += [sn(nn.Conv3d(cin, cout, (3, 4, 4), stride, (1, 1, 1))), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool3d((1, 2, 2)), nn.Flatten())
        feat = w[-1] * 4
        self.out = sn(nn.Linear(feat, 1))
        self.n_classes = n_classes
        if n_classes:
            self.embed = sn(nn.Embedding(n_classes, feat))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # x: (N, T, C, H, W) -> logits (N,)
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1)   # motion made explicit
        h = self.features(torch.cat([x, diff], 2).transpose(1, 2))           # conv3d wants (N, C, T, H, W)
        out = self.out(h).squeeze(1)
        if self.n_classes:
            out = out + (self.embed(c) * h).sum(1)                           # projection term
        return out


class VideoDiscriminator(nn.Module):
    def __init__(self, res: int, channels: int, width: int, n_classes: int = 0, spectral_norm: bool = True,
                 d_frames: int = 2, clip: bool = True):
        super().__init__()
        self.d_frames = d_frames
        self.frame = ImageDiscriminator(res, channels, width, n_classes, spectral_norm)
        self.clip = ClipDiscriminator(res, channels, width, n_classes, spectral_norm) if clip else None

    def frame_logits(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # d_frames random frames per clip (global RNG: exact resume), mean logit per clip (N,)
        n, t = x.shape[:2]
        k = min(self.d_frames, t)
        pick = torch.rand(n, t, device=x.device).argsort(1)[:, :k]                   # (N, k) without replacement
        frames = x[torch.arange(n, device=x.device)[:, None], pick].flatten(0, 1)   # (N*k, C, H, W)
        cc = None if c is None else c.repeat_interleave(k)
        return self.frame(frames, cc).view(n, k).mean(1)

    def clip_logits(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.clip(x, c)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Both heads' logits summed: a single realness score (training uses the heads separately)."""
        out = self.frame_logits(x, c)
        return out if self.clip is None else out + self.clip_logits(x, c)
