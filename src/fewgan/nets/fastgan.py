"""Few-shot image networks after the ideas of FastGAN (Liu et al. 2021, "Towards faster and
stabilized GAN training for high-fidelity few-shot image synthesis"); written for fewgan from the
paper's description, not from its code.

G: z -> base x base (transposed conv from 1x1) -> per stage: bilinear x2, conv3x3, BN, GLU.
   Bilinear, not the paper's nearest: with our thin CPU widths (8 channels at 64 px) nearest
   upsampling left a regular 2/4/8-px grid over every sample that D did not learn to reject
   (docs/benchmarks.md, images at 64 px: histology KID 0.032 -> 0.005 at 5 CPU minutes).
   `up="nearest"` rebuilds runs saved before the change.
   Skip-layer excitation (SLE): the feature map three stages lower (8x smaller) gates every stage
   from 32 px up channel-wise, e.g. 4x4 gates 32x32 and 8x8 gates 64x64. It gives the high-res
   layers a short gradient path to the coarse layout and a global, style-like modulation.
D: strided "down" blocks (a conv path and an avg-pool path, averaged), no BatchNorm (D sees real
   and fake in one call; BN would mix them and breaks R1), optional spectral norm. In training it
   also reconstructs real images from its own features, the paper's self-supervision that keeps D
   learning image structure rather than memorising the few training images:
   (a) the whole image at res/2 from the 8x8 map, (b) one quadrant of the image from the matching
   quadrant of the 16x16 map. L1 on reals only (the paper adds LPIPS; we have no pretrained
   perceptual net offline). GANLoss.d_main adds the term to D's loss.
Resolutions: 32, 64 or 128 (the decoders need D's 16x16 and 8x8 maps).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from ..registry import NETS
from .image import with_labels

FASTGAN_RES = (32, 64, 128)


def check_res(res: int) -> int:
    """log2(res / 4): the number of x2 stages from 4x4."""
    if res not in FASTGAN_RES:
        raise UsageError(f"--arch fastgan needs --res 32, 64 or 128 (got {res}): use one of those or --arch dcgan")
    return res.bit_length() - 3


def _chs(width: int, n: int, cap: int = 512) -> list[int]:
    # Channels per stage, index 0 = 4x4; they halve as resolution doubles, never below 4.
    return [max(4, min(cap, width * 2 ** (n - i))) for i in range(n + 1)]


class SLE(nn.Module):
    """Skip-layer excitation: a low-res map -> (N, C_high, 1, 1) sigmoid gates for a high-res map."""

    def __init__(self, c_low: int, c_high: int):
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_low, c_high, 4, 1, 0, bias=False),
                                 nn.LeakyReLU(0.1), nn.Conv2d(c_high, c_high, 1, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.net(low)      # (N, C, H, W) * (N, C, 1, 1)


UPSAMPLE = ("bilinear", "nearest")


def _up(cin: int, cout: int, mode: str) -> nn.Sequential:
    # conv to 2*cout, then GLU halves it: one half gates the other (the paper's G activation).
    up = nn.Upsample(scale_factor=2, mode=mode, align_corners=False if mode == "bilinear" else None)
    return nn.Sequential(up, nn.Conv2d(cin, cout * 2, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(cout * 2), nn.GLU(dim=1))


@NETS.register("fastgan_g")
class FastGANGenerator(nn.Module):
    def __init__(self, res: int = 64, channels: int = 3, z_dim: int = 64, width: int = 8, n_classes: int = 0,
                 up: str = "bilinear"):
        super().__init__()
        if up not in UPSAMPLE:
            raise ValueError(f"up must be one of {UPSAMPLE}, got {up!r}")
        self.res, self.channels, self.z_dim, self.n_classes = res, channels, z_dim, n_classes
        n = check_res(res)
        chs = _chs(width, n)
        in_dim = z_dim
        if n_classes:
            self.embed = nn.Embedding(n_classes, z_dim)   # label embedding concatenated to z
            in_dim += z_dim
        self.init = nn.Sequential(nn.ConvTranspose2d(in_dim, chs[0] * 2, 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(chs[0] * 2), nn.GLU(dim=1))          # (N, chs[0], 4, 4)
        self.ups = nn.ModuleList(_up(a, b, up) for a, b in zip(chs[:-1], chs[1:]))
        # Stage i (resolution 4 * 2**i) is gated by stage i - 3 for every i >= 3 (32 px and up).
        self.sle = nn.ModuleDict({str(i): SLE(chs[i - 3], chs[i]) for i in range(3, n + 1)})
        self.to_img = nn.Conv2d(chs[-1], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # z: (N, z_dim), c: (N,) int64 labels -> (N, channels, res, res) in [-1, 1]
        z = with_labels(self, z, c)
        h = self.init(z[:, :, None, None])
        feats = [h]
        for i, up in enumerate(self.ups, start=1):
            h = up(h)
            if str(i) in self.sle:
                h = self.sle[str(i)](feats[i - 3], h)
            feats.append(h)
        return torch.tanh(self.to_img(h))


class _Down(nn.Module):
    """x2 down: (conv4x4 s2, LReLU, conv3x3, LReLU) averaged with (avg-pool, conv1x1, LReLU)."""

    def __init__(self, cin: int, cout: int, sn):
        super().__init__()
        self.main = nn.Sequential(sn(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2),
                                  sn(nn.Conv2d(cout, cout, 3, 1, 1)), nn.LeakyReLU(0.2))
        self.skip = nn.Sequential(nn.AvgPool2d(2), sn(nn.Conv2d(cin, cout, 1, 1, 0)), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


def _decoder(cin: int, n_up: int, channels: int, width: int) -> nn.Sequential:
    # (N, cin, 8, 8) -> (N, channels, 8 * 2**n_up, same); plain ReLU convs: it only has to reconstruct.
    layers, c = [], cin
    for _ in range(n_up):
        c_out = max(4, c // 2, width)
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c_out, 3, 1, 1), nn.ReLU()]
        c = c_out
    return nn.Sequential(*layers, nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())


@NETS.register("fastgan_d")
class FastGANDiscriminator(nn.Module):
    self_supervised = True   # GANLoss.d_main asks it for the reconstruction loss on reals

    def __init__(self, res: int = 64, channels: int = 3, width: int = 8, n_classes: int = 0,
                 spectral_norm: bool = True, recon_weight: float = 1.0):
        super().__init__()
        self.res, self.channels, self.n_classes, self.recon_weight = res, channels, n_classes, recon_weight
        n = check_res(res)
        chs = _chs(width, n)[::-1]                    # index 0 = full resolution, last = 4x4
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        self.from_rgb = nn.Sequential(sn(nn.Conv2d(channels, chs[0], 3, 1, 1)), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(_Down(a, b, sn) for a, b in zip(chs[:-1], chs[1:]))
        self.i16, self.i8 = n - 3, n - 2              # downs[i] outputs res / 2**(i+1): 16x16 after i16, 8x8 after i8
        feat = chs[-1] * 16
        self.out = sn(nn.Linear(feat, 1))
        if n_classes:
            self.embed = sn(nn.Embedding(n_classes, feat))
        # Decoders: 8x8 -> res/2 (whole image), 8x8 quadrant of the 16x16 map -> res/2 (one quadrant).
        self.recon_res = res // 2
        n_up = (self.recon_res // 8).bit_length() - 1
        self.dec_all = _decoder(chs[self.i8 + 1], n_up, channels, width)
        self.dec_part = _decoder(chs[self.i16 + 1], n_up, channels, width)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, recon_rows: int = 0):
        """x: (N, channels, res, res) -> logits (N,); with recon_rows=R > 0 also the weighted
        reconstruction loss (a scalar) of the first R rows (the reals, as D saw them: augmented)."""
        h = self.from_rgb(x)
        h16 = h8 = None
        for i, down in enumerate(self.downs):
            h = down(h)
            if i == self.i16:
                h16 = h                                       # (N, C16, 16, 16)
            elif i == self.i8:
                h8 = h                                        # (N, C8, 8, 8)
        h = h.flatten(1)                                      # (N, C4 * 16)
        out = self.out(h).squeeze(1)
        if self.n_classes:
            if c is None:
                raise ValueError("conditional discriminator needs labels c")
            out = out + (self.embed(c) * h).sum(1)            # projection term <embed(y), h>
        if not recon_rows:
            return out
        return out, self.recon_loss(x[:recon_rows], h16[:recon_rows], h8[:recon_rows])

    def recon_loss(self, x: torch.Tensor, h16: torch.Tensor, h8: torch.Tensor) -> torch.Tensor:
        r, half = self.recon_res, self.res // 2
        # One quadrant for the whole batch, drawn from torch's global CPU generator: the engine
        # seeds it and saves it in every checkpoint, so resumed runs draw the same quadrants.
        q = int(torch.randint(4, (1,)).item())
        a, b = divmod(q, 2)                                   # quadrant row, column
        target_all = F.interpolate(x, size=(r, r), mode="area")                      # (R, C, r, r)
        part = x[:, :, a * half:(a + 1) * half, b * half:(b + 1) * half]             # (R, C, res/2, res/2)
        target_part = part if half == r else F.interpolate(part, size=(r, r), mode="area")
        rec_all = self.dec_all(h8)                                                   # (R, C, r, r)
        rec_part = self.dec_part(h16[:, :, a * 8:(a + 1) * 8, b * 8:(b + 1) * 8])    # (R, C, r, r)
        loss = (rec_all.float() - target_all.float()).abs().mean() + \
            (rec_part.float() - target_part.float()).abs().mean()
        return loss * self.recon_weight
