"""Time-series modality: sliding windows of a multivariate series, min-max scaled per feature.

Three models (--model):
  rgan (default)  a recurrent GAN in data space: a GRU generator of increments (RecurrentGenerator)
                  against a convolutional critic that reads values and increments (ConvCritic);
                  the engine's default step (GANPhases): non-saturating loss, lazy R1, EMA of G.
                  Measured against TimeGAN's design in docs/benchmarks.md: better on Sines and
                  Stocks, and several times cheaper.
  returns         a GAN of returns: a temporal convolutional generator of Gaussianised returns,
                  levels rebuilt from a real start day; the same default step (returns.py).
  timegan         TimeGAN's design (Yoon et al. 2019), below.

TimeGAN training (one engine step = one iteration of the current phase, phase lengths fixed at start):
  1. autoencoder  (ae_steps):  embedder + recovery, loss 10 * sqrt(MSE(x, recovery(embedder(x))))
  2. supervised   (sup_steps): supervisor predicts the next latent step, MSE(h[1:], S(h)[:-1])
  3. joint        (the rest):  2 x (G+S update, then embedder+recovery update), then a D update when
     D's loss > 0.15. G loss = adversarial on S(G(z)) and on G(z) (gamma = 1, non-saturating)
     + 100 sqrt(supervised) + 100 (|std| + |mean| moment gaps); embedder loss adds 0.1 x supervised.
     Our addition (diff_moments, weight 100; 0 = TimeGAN's loss): the same moment gaps for the
     increments x[t+1] - x[t] per feature, see docs/benchmarks.md for the measured effect.
Samples use G_ema (EMA of all G parameters, the engine's).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...api import GAN
from ...config import TrainConfig
from ...data import fingerprint
from ...data.series import load_series, windows
from ...errors import UsageError
from ...nets.series import ConvCritic, RecurrentGenerator, SeriesDiscriminator, SeriesGenerator
from ...train.phases import GANPhases, adam
from ...train.sampling import generate
from .. import Prepared

# Settings: SeriesOptions in __init__.py; None fields are filled by model here.
MODEL_DEFAULTS = {"rgan": dict(hidden=64, layers=2), "returns": dict(hidden=32, layers=7, tail="clamp", critic_lags=0,
                                                                  fact_loss=10.0, leverage_loss=100.0),
                  "timegan": dict(hidden=24, layers=3, cell="lstm", g_steps=2, diff_moments=100.0)}
RGAN_STEPS, RETURNS_STEPS = 4000, 8000     # returns: 8000 beat 3000 on Stocks (docs/benchmarks.md, issue 17)
DEFAULT_PHASES = (1000, 1000, 1500)     # TimeGAN: autoencoder, supervised, joint steps (docs/benchmarks.md)
D_THRESHOLD, GAMMA = 0.15, 1.0


@dataclass
class SeriesCodec:
    seq_len: int
    columns: list[str]
    lo: list[float]
    scale: list[float]

    @property
    def n_features(self) -> int:
        return len(self.columns)

    def encode(self, w: np.ndarray) -> torch.Tensor:
        lo, sc = np.asarray(self.lo), np.asarray(self.scale)
        return torch.from_numpy(((w - lo) / sc).astype(np.float32))

    def decode(self, x) -> np.ndarray:
        x = x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)
        return x.astype(np.float64) * np.asarray(self.scale) + np.asarray(self.lo)

    def noise_shape(self, z_dim: int, length: int | None = None) -> tuple[int, int]:
        return (length or self.seq_len, z_dim)

    def state_dict(self) -> dict:
        return {"seq_len": self.seq_len, "columns": self.columns, "lo": self.lo, "scale": self.scale}


class TimeGANPhases:
    def __init__(self, eng):
        self.eng = eng
        o = eng.cfg.options
        self.ae_steps, self.sup_steps = o.ae_steps, o.sup_steps
        self.g_steps, self.w_diff = o.g_steps, o.diff_moments

    def make_optimizers(self) -> dict:
        e, cfg, G = self.eng, self.eng.cfg, self.eng.G
        er = list(itertools.chain(G.embedder.parameters(), G.recovery.parameters()))
        gs = list(itertools.chain(G.generator.parameters(), G.supervisor.parameters()))
        return {"opt_E": adam(er, cfg.g_lr, cfg, e.device), "opt_G": adam(gs, cfg.g_lr, cfg, e.device),
                "opt_D": adam(e.D.parameters(), cfg.d_lr, cfg, e.device)}

    def phase(self, step: int) -> str:
        return "ae" if step < self.ae_steps else "sup" if step < self.ae_steps + self.sup_steps else "joint"

    def step(self) -> None:
        getattr(self, "_" + self.phase(self.eng.step))()

    def _update(self, name: str, loss: torch.Tensor) -> None:
        opt = self.eng.opts[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.eng.bad |= ~torch.isfinite(loss.detach())

    def _autoencoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        G = self.eng.G
        h = G.embedder(x)
        rec = F.mse_loss(G.recovery(h), x)
        return h, rec

    @staticmethod
    def _sup_loss(G, h: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(G.supervisor(h)[:, :-1], h[:, 1:])

    def _ae(self) -> None:
        x, _ = self.eng.batch()
        _, rec = self._autoencoder(x)
        self.eng.stats.report("loss/AE", rec.detach())
        self._update("opt_E", 10 * torch.sqrt(rec))

    def _sup(self) -> None:
        e = self.eng
        x, _ = e.batch()
        with torch.no_grad():
            h = e.G.embedder(x)
        loss = self._sup_loss(e.G, h)
        e.stats.report("loss/S", loss.detach())
        self._update("opt_G", loss)

    def _joint(self) -> None:
        e, G, D, b = self.eng, self.eng.G, self.eng.D, self.eng.local_batch
        D.requires_grad_(False)
        for _ in range(self.g_steps):
            x, _ = e.batch()
            z = e.noise(b)
            # generator + supervisor
            with torch.no_grad():
                h = G.embedder(x)
            e_hat, h_hat = G.latent(z)
            x_hat = G.recovery(h_hat)
            adv = F.softplus(-D(h_hat)).mean() + GAMMA * F.softplus(-D(e_hat)).mean()
            sup = self._sup_loss(G, h)
            std_gap = (torch.sqrt(x_hat.var(0, unbiased=False) + 1e-6) - torch.sqrt(x.var(0, unbiased=False) + 1e-6)).abs().mean()
            mean_gap = (x_hat.mean(0) - x.mean(0)).abs().mean()
            loss_g = adv + 100 * torch.sqrt(sup + 1e-12) + 100 * (std_gap + mean_gap)
            if self.w_diff:     # our addition: match the increments' mean and std per feature too
                dh, dx = x_hat.diff(dim=1), x.diff(dim=1)
                diff_gap = ((torch.sqrt(dh.var((0, 1), unbiased=False) + 1e-6)
                             - torch.sqrt(dx.var((0, 1), unbiased=False) + 1e-6)).abs().mean()
                            + (dh.mean((0, 1)) - dx.mean((0, 1))).abs().mean())
                loss_g = loss_g + self.w_diff * diff_gap
            self._update("opt_G", loss_g)
            # embedder + recovery
            h, rec = self._autoencoder(x)
            loss_e = 10 * torch.sqrt(rec) + 0.1 * self._sup_loss(G, h)
            self._update("opt_E", loss_e)
        e.stats.report("loss/G", loss_g.detach())
        e.stats.report("loss/G_adv", adv.detach())
        e.stats.report("loss/S", sup.detach())
        e.stats.report("loss/moments", (std_gap + mean_gap).detach())
        e.stats.report("loss/AE", rec.detach())
        # discriminator, only while it is not already winning (TimeGAN's 0.15 rule)
        D.requires_grad_(True)
        x, _ = e.batch()
        with torch.no_grad():
            h = G.embedder(x)
            e_hat, h_hat = G.latent(e.noise(b))
        lr, lf = D(h), D(h_hat)
        loss_d = F.softplus(-lr).mean() + F.softplus(lf).mean() + GAMMA * F.softplus(D(e_hat)).mean()
        e.stats.report("loss/D", loss_d.detach())
        e.stats.report("D/real", lr.detach().mean())
        e.stats.report("D/fake", lf.detach().mean())
        if e.dist.mean(loss_d.detach()).item() > D_THRESHOLD:    # the global loss: every rank decides alike
            self._update("opt_D", loss_d)
        else:
            e.bad |= ~torch.isfinite(loss_d.detach())

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class SeriesModality:
    name = "series"
    primary_metric = "discriminative"  # best.pt is kept by it unless --until names another
    metric_panels = [("discriminative (lower is better)", ("discriminative",)),
                     ("predictive (lower is better)", ("predictive",))]       # report curves

    def prepare(self, cfg: TrainConfig, data=None, labels=None) -> Prepared:
        if labels is not None:
            raise UsageError("series runs take no labels")
        o = cfg.options
        seq_len = o.seq_len
        src = load_series(cfg.data if data is None else data, seq_len, cfg.seed, o.reverse, o.fill)
        if src.windows is not None:           # sines: already in [0, 1], kept on the paper's scale
            w = src.windows
            lo, scale = [0.0] * w.shape[-1], [1.0] * w.shape[-1]
            fp = fingerprint(w)
        else:
            v = src.values
            lo, scale = v.min(0).tolist(), (v.max(0) - v.min(0)).tolist()
            w = windows(v, seq_len)
            fp = fingerprint(v)
        codec = SeriesCodec(seq_len, src.columns, lo, scale)
        x = codec.encode(w)
        if o.model == "returns":
            from .returns import make_codec
            d = MODEL_DEFAULTS["returns"]
            codec = make_codec(codec, x, o.layers if o.layers is not None else d["layers"],
                               o.train_len if o.train_len is not None else seq_len,
                               o.tail if o.tail is not None else d["tail"])
        return Prepared(x, None, codec, fp)

    def codec_from_state(self, s: dict) -> SeriesCodec:
        if "transform" in s:
            from .returns import ReturnsCodec
            return ReturnsCodec(**s)
        return SeriesCodec(**s)

    def adapt_prepared(self, prep: Prepared, codec: SeriesCodec) -> Prepared:
        """`evaluate --data OTHER` and resume: the run's own scaled space, on the same columns."""
        if prep.codec.columns != codec.columns:
            raise UsageError(f"--data has columns {', '.join(prep.codec.columns)} but the run was trained on "
                             f"{', '.join(codec.columns)}: pass data with the same columns")
        return replace(prep, x=codec.encode(prep.codec.decode(prep.x)), codec=codec)

    def resolve_defaults(self, cfg: TrainConfig, prep: Prepared) -> TrainConfig:
        if cfg.augment not in ("auto", "none"):
            raise UsageError(f"--augment {cfg.augment}: augmentation is for images; series runs take --augment none")
        o = cfg.options.fill_none(**MODEL_DEFAULTS[cfg.options.model])
        if o.model == "returns":
            o = o.replace(train_len=prep.codec.train_len)       # as cut to the data
            # rgan's optimiser and EMA; R1 acts on the scaled levels, whose jacobian to the Gaussian
            # scores the critic reads is ~(range / level) / sd ~ 100 per step on prices, so a
            # gamma of 1e-4 here is ~1 in the critic's own units.
            cfg = cfg.fill_none(loss="ns", batch=128, g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.99, r1_gamma=1e-4,
                                z_dim=8, r1_every=4)
            steps = cfg.steps if cfg.steps is not None or cfg.minutes is not None else RETURNS_STEPS
            return cfg.replace(options=o, augment="none", steps=steps,
                               ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 140 / 1000)
        if o.model == "rgan":
            # ns + R1 (every 4 steps), Adam 2e-4 betas .5/.99, 16 noise dims per step, EMA half-life
            # 140 steps. R1 is weak on purpose: the real windows differ from jittery fakes by
            # increments ~1e-3 in size, which a critic only sees with a large input gradient. Sines
            # scored 0.06-0.07 with gamma 1, 0.005-0.012 with 0.003 (4 seeds); gamma 0 diverges on
            # Stocks (0.36). Sweep in docs/benchmarks.md.
            cfg = cfg.fill_none(loss="ns", batch=128, g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.99, r1_gamma=0.003,
                           z_dim=16, r1_every=4)
            steps = cfg.steps if cfg.steps is not None or cfg.minutes is not None else RGAN_STEPS
            return cfg.replace(options=o, augment="none", steps=steps,
                           ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 140 / 1000)
        if cfg.loss not in (None, "ns") or cfg.r1_gamma not in (None, 0.0):
            raise UsageError("--loss / --r1-gamma do not apply to --model timegan (it has its own losses): drop them")
        # TimeGAN's optimiser: Adam with TensorFlow's defaults (lr 1e-3, betas .9/.999), batch 128.
        cfg = cfg.fill_none(loss="ns", batch=128, g_lr=1e-3, d_lr=1e-3, beta1=0.9, beta2=0.999, r1_gamma=0.0, z_dim=64,
                       r1_every=16)
        if cfg.steps is None and cfg.minutes is None:
            steps = sum(DEFAULT_PHASES)
            ae, sup = DEFAULT_PHASES[:2]
        else:
            steps = cfg.steps
            total = steps if steps is not None else sum(DEFAULT_PHASES)
            ae, sup = total * DEFAULT_PHASES[0] // sum(DEFAULT_PHASES), total * DEFAULT_PHASES[1] // sum(DEFAULT_PHASES)
        return cfg.replace(options=o.fill_none(ae_steps=ae, sup_steps=sup), augment="none", steps=steps,
                       ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 10 / 32)

    def build_nets(self, cfg: TrainConfig, codec: SeriesCodec):
        o = cfg.options
        if o.model == "returns":
            from .returns import ReturnsCritic, ReturnsGenerator
            # critic_lags None: a run saved before the option existed (resolve_defaults fills it for new runs)
            lags = o.critic_lags if o.critic_lags is not None else 0
            G = ReturnsGenerator(codec, cfg.z_dim, o.hidden, o.layers, calibrate=o.calibrate)
            return G, ReturnsCritic(codec, o.hidden, lags)
        if o.model == "rgan":
            return (RecurrentGenerator(codec.n_features, cfg.z_dim, o.hidden, o.layers),
                    ConvCritic(codec.n_features, codec.seq_len, o.hidden))
        G = SeriesGenerator(codec.n_features, cfg.z_dim, o.hidden, o.layers, o.cell)
        D = SeriesDiscriminator(o.hidden, o.layers, o.cell)
        return G, D

    def g_aux(self, fake: torch.Tensor, c, codec: SeriesCodec, cfg: TrainConfig) -> torch.Tensor | None:
        """--fact-loss w and --leverage-loss wl (returns): w times the codec's stylized-fact penalty
        plus wl times its returns-leverage penalty; None (no term, no loss/G_aux stat) for the other
        models and zero weights."""
        o = cfg.options
        w, wl = o.fact_loss, o.leverage_loss or 0.0      # leverage_loss None: a run saved before it existed
        terms = ([w * codec.fact_penalty(fake)] if w else []) + ([wl * codec.leverage_penalty(fake)] if wl else [])
        return sum(terms) if terms else None

    def make_phases(self, engine):
        return TimeGANPhases(engine) if engine.cfg.options.model == "timegan" else GANPhases(engine)

    def make_augment(self, cfg: TrainConfig):
        return None

    def make_evaluator(self, cfg: TrainConfig, prep: Prepared, cache_dir: Path | None, real_baseline: bool = False):
        from ...metrics.series import SeriesEvaluator
        o = cfg.options
        quick = o.protocol == "quick"       # timegan: the paper's iteration counts, whatever was set
        return SeriesEvaluator(prep.x, prep.codec, cfg.eval_n, cfg.seed, o.disc_iters if quick else None,
                               o.pred_iters if quick else None, o.eval_repeats, real_baseline, o.protocol,
                               o.eval_length)

    def verdicts(self, results: dict) -> list[tuple[str, str]]:
        from ...metrics.series import verdicts
        return verdicts(results)

    def report_panels(self, ev) -> list[tuple[str, str]]:
        from ...report.html import img_tag
        codec, real = ev.prep.codec, ev.prep.x
        fake = ev.evaluator.last_fake if ev.evaluator.last_fake is not None else ev.sample(len(real))
        g = torch.Generator().manual_seed(0)
        pick = torch.randperm(len(real), generator=g)[:6]
        panels = [("Synthetic windows (G_ema, original units)", img_tag(lines_png(codec.decode(fake[:6]), codec.columns))),
                  ("Real windows", img_tag(lines_png(codec.decode(real[pick]), codec.columns)))]
        from ...metrics.series import pca_2d
        n = min(1000, len(real), len(fake))
        a, b = pca_2d(real[torch.randperm(len(real), generator=g)[:n]].numpy(), fake[:n].numpy())
        panels.append(("PCA of real vs synthetic windows", img_tag(scatter_png(a, b))
                       + "<p>Flattened windows (scaled space) projected on the first two principal components of "
                       f"the real windows; {n} of each. Synthetic points should cover the real cloud.</p>"))
        from .report import risk_panels
        return panels + risk_panels(ev.results, list(codec.columns), img_tag)

    def decode(self, samples: torch.Tensor, codec: SeriesCodec) -> np.ndarray:
        return codec.decode(samples)

    def export_info(self, codec: SeriesCodec) -> dict:
        """`fewgan export`: the graph gives (batch, seq_len, features) in the min-max scaled space."""
        return {"layout": "(batch, time, features)", "seq_len": codec.seq_len, "columns": codec.columns,
                "lo": codec.lo, "scale": codec.scale, "to_original_units": "x * scale + lo (per feature)",
                "condition": None}

    def preview(self, samples: torch.Tensor, codec: SeriesCodec, path: Path) -> None:
        from ...train.checkpoint import atomic_write_bytes
        atomic_write_bytes(path, lines_png(codec.decode(samples[:6]), codec.columns))

    def write_samples(self, gen, n: int, path: Path, seed: int = 0, length: int | None = None,
                      chunk: int | None = None, progress: bool = False) -> None:
        """.csv: one row per time step with a `window` id and a `t` column, values in original units;
        .npy: (n, seq_len, features) in original units, memory-mapped. Streams in chunks (train/stream.py)."""
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".npy"):
            raise UsageError(f"--out {path}: use a .csv or .npy file name for series samples")
        if n < 1:
            raise UsageError(f"-n must be >= 1, got {n}")
        if length is not None and length < 1:
            raise UsageError(f"--length must be >= 1, got {length}")
        from ...train.stream import DEFAULT_CHUNK, stream, write_array, write_frames
        codec, t = gen.codec, length or gen.codec.seq_len
        # chunk counts windows; a window is t rows, so keep a chunk near DEFAULT_CHUNK values per feature
        chunk = chunk or max(1, DEFAULT_CHUNK // t)
        if suffix == ".npy":
            stream(gen, n, path, seed, chunk, progress, "windows",
                   lambda chunks, tmp, count: write_array((codec.decode(x) for x in chunks), tmp,
                                                          (count, t, codec.n_features)), length=length)
            return
        import pandas as pd

        def frames(chunks):
            start = 0
            for raw in chunks:
                x = codec.decode(raw)
                k = len(x)
                df = pd.DataFrame(x.reshape(-1, x.shape[-1]), columns=codec.columns)
                df.insert(0, "t", np.tile(np.arange(t), k))
                df.insert(0, "window", np.repeat(np.arange(start, start + k), t))
                start += k
                yield df
        stream(gen, n, path, seed, chunk, progress, "windows",
               lambda chunks, tmp, _: write_frames(frames(chunks), tmp, "csv"), length=length)


def sample_path(G, z_dim: int, codec: SeriesCodec, n: int, length: int | None = None, seed: int = 0,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """n sequences of `length` steps (default: the training window) in the scaled space. Longer than
    the training window works because the recurrent nets simply keep running on more noise."""
    return generate(G, z_dim, n, torch.device(device), codec, None, seed, length=length)


def lines_png(x: np.ndarray, columns: list[str]) -> bytes:
    """Small multiples: one panel per window, one line per feature (each min-max scaled per panel)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...report.plots import fig_png
    k = len(x)
    fig, axes = plt.subplots(1, k, figsize=(2.2 * k, 2.0), squeeze=False)
    for ax, w in zip(axes[0], x):
        span = np.ptp(w, axis=0)
        ax.plot((w - w.min(0)) / np.where(span > 0, span, 1))
        ax.set_xticks([])
        ax.set_yticks([])
    if len(columns) <= 8:
        axes[0][0].legend(columns, fontsize=5, loc="upper left")
    return fig_png(fig, dpi=80)


def scatter_png(a: np.ndarray, b: np.ndarray) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...report.plots import fig_png
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(a[:, 0], a[:, 1], s=4, alpha=0.4, label="real", c="tab:red")
    ax.scatter(b[:, 0], b[:, 1], s=4, alpha=0.4, label="synthetic", c="tab:blue")
    ax.legend()
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    return fig_png(fig, dpi=80)


class SeriesGAN(GAN):
    """SeriesGAN(seq_len=24).fit(df).sample(n) -> float (n, seq_len, features) in original units.

    Every SeriesOptions field (seq_len, model, hidden, ...) is a keyword too."""
    modality = "series"

    def fit(self, data="sines", out: str | Path | None = None, verbose: bool = False):
        """data: "sines", "macro", a CSV path, a pandas DataFrame or a (time, features) array."""
        return super().fit(data, None, out, verbose)

    def sample(self, n: int, seed: int = 0, length: int | None = None) -> np.ndarray:
        """n windows (or paths of `length` steps: the recurrent generator runs on) in original units."""
        g = self._require_fit()
        return g.codec.decode(sample_path(g.G, g.config.z_dim, g.codec, n, length, seed, g.device))

    def sample_path(self, length: int, n: int = 1, seed: int = 0) -> np.ndarray:
        """n long paths of `length` steps, (n, length, features) in original units."""
        return self.sample(n, seed, length)
