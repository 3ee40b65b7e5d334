"""Series plug-in: its typed options and registration (light; the implementation is modality.py)."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...options import Options, option
from .. import Plugin

MODELS = ("rgan", "returns", "timegan")
PROTOCOLS = ("quick", "timegan")
TIMEGAN_ONLY = ("cell", "ae_steps", "sup_steps", "g_steps", "diff_moments")
RETURNS_ONLY = ("train_len", "tail", "critic_lags", "fact_loss", "leverage_loss")


@dataclass
class SeriesOptions(Options):
    seq_len: int = option(24, "window length in time steps", minimum=2)
    model: str = option("rgan", "rgan (recurrent GAN in data space), returns (a convolutional GAN of returns: "
                                 "heavy tails, volatility clustering; for prices, not for series that are not "
                                 "products of returns) or timegan", choices=MODELS)
    hidden: int | None = option(None, "hidden units of G's GRU and D's convolutions (timegan: of every "
                                      "recurrent net; returns: channels of G and D) [rgan 64, returns 32, timegan 24]", minimum=1, auto=True)
    layers: int | None = option(None, "recurrent layers (timegan: the supervisor has one fewer; returns: dilated "
                                "convolution blocks, receptive field 2^layers steps) [rgan 2, returns 7, timegan 3]",
                                minimum=1, auto=True)
    cell: str | None = option(None, "timegan's recurrent cell: gru or lstm [lstm]", choices=("gru", "lstm"), auto=True)
    ae_steps: int | None = option(None, "timegan: autoencoder phase steps [by --steps]", minimum=0, auto=True)
    sup_steps: int | None = option(None, "timegan: supervised phase steps [by --steps]", minimum=0, auto=True)
    g_steps: int | None = option(None, "timegan: generator updates per joint step [2]", minimum=1, auto=True)
    diff_moments: float | None = option(None, "timegan: weight of the increment moment loss (0: TimeGAN's loss) "
                                              "[100]", minimum=0, auto=True)
    train_len: int | None = option(None, "returns: the critic's window in steps, at least --seq-len, cut to the "
                                         "series' length (64 measured worse on Stocks) [--seq-len]", minimum=2,
                                   auto=True)
    tail: str | None = option(None, "returns: the transform of returns beyond the quantile grid: clamp (no return "
                                    "beyond the sample's extremes) or gpd (a generalized Pareto fitted to the top "
                                    "and bottom 5 percent of returns, unbounded) [clamp]", choices=("clamp", "gpd"),
                              auto=True)
    critic_lags: int | None = option(None, "returns: the critic also reads the window's lagged products of "
                                           "Gaussianised returns u_t u_t-k and |u_t| |u_t-k|, k = 1..K (0: none) [0]",
                                     minimum=0, auto=True)
    fact_loss: float | None = option(None, "returns: weight of a G penalty matching the batch's acf of the "
                                           "Gaussianised returns u and of |u| (lags 1-20), leverage (lags 1-10) and "
                                           "the marginals of u to the real series' (0: none) [10]", minimum=0,
                                     auto=True)
    leverage_loss: float | None = option(None, "returns: weight of a G penalty matching the leverage effect of "
                                               "the returns themselves, corr(r_t, |r_t+k|) averaged over k = 1-10 "
                                               "(ruled by the extreme days, which the scores' term does not weigh), "
                                               "to the real series' (0: none) [100]", minimum=0, auto=True)
    calibrate: bool = option(True, "returns: at sampling time, map G's Gaussian scores of each feature through "
                                   "their own quantiles (measured once on 4096 paths of 64 steps) to N(0, 1), the "
                                   "real scores' law, so sampled returns have the real returns' marginal",
                             cli="negate", flag="--no-calibrate")
    reverse: bool = option(False, "reverse the row order (TimeGAN does this to the stock file)")
    fill: str = option("none", "NaN gaps: none (error) or ffill (carry the last value forward)",
                       choices=("none", "ffill"))
    protocol: str = option("quick", "evaluation: quick (seconds: 500 / 1000 iterations, 1 repeat) or timegan "
                                    "(the paper's 2000 / 5000 iterations, 3 repeats: minutes)", choices=PROTOCOLS)
    disc_iters: int | None = option(None, "quick protocol: discriminative-score classifier iterations [500] "
                                          "(timegan: always the paper's 2000)", minimum=1, auto=True)
    pred_iters: int | None = option(None, "quick protocol: predictive-score regressor iterations [1000] "
                                          "(timegan: always the paper's 5000)", minimum=1, auto=True)
    eval_repeats: int | None = option(None, "repeats of each score (mean, std) [quick 1, timegan 3]", minimum=1,
                                      auto=True)
    eval_length: int | None = option(None, "steps of the synthetic paths the risk checks use (acf, VaR, drawdown) "
                                           "[250, at most the real series]", minimum=12, auto=True)

    def check(self) -> None:
        if self.model != "timegan":
            given = [k for k in TIMEGAN_ONLY if getattr(self, k) is not None]
            if given:
                raise UsageError(f"--{given[0].replace('_', '-')} is a TimeGAN setting: add --model timegan, "
                                 "or drop it")
        if self.model != "returns":
            given = [k for k in RETURNS_ONLY if getattr(self, k) is not None]
            if given:
                raise UsageError(f"--{given[0].replace('_', '-')} is a setting of --model returns: add it, or drop it")
            if not self.calibrate:
                raise UsageError("--no-calibrate is a setting of --model returns: add it, or drop it")

    @classmethod
    def migrate(cls, old: dict) -> dict:
        """Format-1 settings: a run saved before --model existed was a TimeGAN run (its resolved
        config holds every TimeGAN setting)."""
        legacy = {"seq_len", "hidden", "layers", "cell", "g_steps", "ae_steps", "sup_steps", "disc_iters",
                  "eval_repeats"}
        if "model" not in old and legacy <= set(old):
            # before diff_moments existed TimeGANPhases read 0 (TimeGAN's own loss)
            old = {"g_steps": 2, "diff_moments": 0.0, **old, "model": "timegan"}
        # format 1 saved the evaluation counts of its day's defaults: they are now the protocol's
        old_defaults = {"disc_iters": 2000, "pred_iters": 5000, "eval_repeats": 3}
        return {k: v for k, v in old.items() if old_defaults.get(k, object()) != v}


@dataclass
class SeriesSampleOptions(Options):
    length: int | None = option(None, "steps per sampled path (default: the training window)", minimum=1)


PLUGIN = Plugin(
    name="series",
    summary="time series: windows of a multivariate series (rgan or timegan)",
    options=SeriesOptions,
    impl="fewgan.modalities.series.modality:SeriesModality",
    api="fewgan.modalities.series.modality:SeriesGAN",
    data_help="sines, macro, or a CSV file of numeric columns",
    default_data="sines",
    sample_options=SeriesSampleOptions,
    eval_flags=("protocol", "eval_repeats", "eval_length"),
    metrics=("fewgan.metrics.series", "fewgan.metrics.series_risk"),
    formats=(".csv", ".npy"),
    smoke=("--data", "sines", "--seq-len", "8", "--hidden", "4", "--batch", "16", "--z-dim", "4", "--disc-iters", "20", "--pred-iters", "20", "--eval-repeats", "1", "--eval-n", "64"),
)
