"""Table modality: CSV / Parquet / DataFrame rows, CTGAN-style conditional GAN (mode-specific
normalisation, training-by-sampling, PacGAN critic, WGAN-GP, Gumbel-softmax), defaults by row count.

Settings: TableOptions in __init__.py (discrete, schema, holdout, target, pac, tau, width).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...api import GAN
from ...config import TrainConfig
from ...data import fingerprint
from ...errors import UsageError
from ...train.checkpoint import atomic_write_bytes
from .. import Prepared

@dataclass
class TablePrepared(Prepared):
    frame: object = None          # the training rows (DataFrame)
    holdout: object = None        # rows kept out of training (DataFrame) or None


def table_fingerprint(df) -> str:
    import pandas as pd
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    names = np.frombuffer("\0".join(map(str, df.columns)).encode(), dtype=np.uint8)
    return fingerprint(h, names)


def default_marginals(n_rows: int, columns: list[dict]) -> str:
    """copula (G starts as a Gaussian copula of the training rows) below 1000 rows, or when at least
    half the columns are categorical; model (G's own mode-specific marginals) otherwise.

    Measured (docs/benchmarks.md, SDMetrics quality, one fit seed each unless noted):
    - below 1000 rows, breast_cancer / wine / diabetes / anes96: the copula path 0.960 / 0.893 /
      0.944 / 0.865 against calibrated marginals' 0.888 / 0.877 / 0.828 / 0.826;
    - adult (26k rows, 9 of 15 columns categorical): copula path at width 128, 12000 steps, 0.968
      and 0.966 (two seeds) in 253 / 269 s, against G's marginals at width 256, 20000 steps, 0.946 in
      1027 s;
    - fair (5k rows, 5 of 9 categorical): 0.974 against 0.959;
    - randhie (16k rows, 4 of 10 categorical, all six continuous columns with point masses): 0.922
      against 0.952; its pair trends fall 0.936 -> 0.857 (the Gaussian dependence of spiky normal
      scores is the copula's own 0.849, and G's residual does not recover it)."""
    if n_rows < 1000:
        return "copula"
    categorical = sum(c["kind"] == "categorical" for c in columns)
    return "copula" if 2 * categorical >= len(columns) else "model"


class TableModality:
    name = "table"
    primary_metric = "quality"  # best.pt is kept by it unless --until names another
    metric_panels = [("table scores (higher is better)", ("quality", "column_shapes", "pair_trends", "detection",
                                                          "ml_efficacy", "dcr"))]       # report curves

    def prepare(self, cfg: TrainConfig, data=None, labels=None) -> TablePrepared:
        from ...data.table import infer_columns, load_schema, read_table
        from ...data.table_codec import TableCodec
        from ...data.table_constraints import Constraints
        if labels is not None:
            raise UsageError("tables take no separate labels: the label is a column of the table")
        df, _ = read_table(cfg.data if data is None else data)
        opts = cfg.options
        discrete, schema = list(opts.discrete), load_schema(opts.schema)
        columns = infer_columns(df, discrete, schema)
        df.columns = [c["name"] for c in columns]
        constraints = Constraints.parse(opts.constraints)
        if constraints:     # the codec models the frame the constraints make (gaps instead of ends, ...)
            constraints.validate(df)
            columns = infer_columns(constraints.forward(df), discrete, schema)
        target = opts.target
        if target is not None and target not in df.columns:
            raise UsageError(f"--target {target}: unknown column: the table's columns are {', '.join(df.columns)}")
        frac = opts.holdout
        n_hold = int(round(frac * len(df)))
        if n_hold and len(df) - n_hold < 10:
            raise UsageError(f"--holdout {frac} leaves {len(df) - n_hold} training rows: use --holdout 0 for "
                             "so small a table")
        perm = np.random.default_rng(cfg.seed).permutation(len(df))
        train = df.iloc[np.sort(perm[n_hold:])].reset_index(drop=True)
        hold = df.iloc[np.sort(perm[:n_hold])].reset_index(drop=True) if n_hold else None
        marginals = opts.marginals or default_marginals(len(train), columns)
        codec = TableCodec.fit(train, columns, cfg.seed, constraints, marginals)
        x = codec.encode(train)
        codec.build_sampler(x)
        return TablePrepared(x, None, codec, table_fingerprint(df), frame=train, holdout=hold)

    def codec_from_state(self, s: dict):
        from ...data.table_codec import TableCodec
        return TableCodec.from_state(s)

    def adapt_prepared(self, prep: TablePrepared, codec) -> TablePrepared:
        """Evaluating or resuming a run: encode and decode with the run's own codec, not the one
        just fitted to the data (a library upgrade could change the fitted mixture modes)."""
        mine = [(c["name"], c["kind"]) for c in codec.columns]
        theirs = [(c["name"], c["kind"]) for c in prep.codec.columns]
        if mine != theirs:
            raise UsageError("--data does not match the run (column names or types differ): pass a table with "
                             "the columns it was trained on")
        prep.codec, prep.x = codec, codec.encode(prep.frame)
        codec.build_sampler(prep.x)
        return prep

    def resolve_defaults(self, cfg: TrainConfig, prep: TablePrepared) -> TrainConfig:
        n = len(prep.x)
        # Measured in benchmarks/tables.py (docs/benchmarks.md): small tables need many more
        # updates than CTGAN's 300 epochs of batch 500 give them, with small nets they stay fast.
        # breast_cancer (455 training rows): 1000 steps of batch 200, pac 5 gave quality 0.85-0.87
        # in 10-14 s; batch 100 / pac 10 or lr 5e-4 / 1e-3 were worse at the same time budget.
        # Larger tables: 400 epochs of batch 500, at least 3000 steps. With G's own marginals (randhie)
        # at most 20000 steps at width 256: on adult that path gave 0.899 / 0.925 / 0.946 at 3000 /
        # 10000 / 20000 steps (1027 s), and width 128 only 0.925 / 0.930 at 10000 / 20000. On the
        # copula path (default_marginals: adult, fair) width 128 and at most 12000 steps: adult
        # 0.968 / 0.966 (two seeds) in 253 / 269 s, ML efficacy 0.923 / 0.929 (10000 steps: 0.959 / 0.953
        # in 192 s, ML efficacy 0.896 / 0.843; 14000: 0.966 / 0.967 in 282 s); fair 0.974 in 41 s
        # (400 epochs, 4075 steps; width 256: 0.971 in 96 s).
        small = n < 1000
        copula = prep.codec.marginals == "copula"
        batch, steps, width, pac_default = (200, 1000, 128, 5) if small else \
            (500, min(12000 if copula else 20000, max(3000, math.ceil(400 * n / 500))), 128 if copula else 256, 10)
        cfg = cfg.fill_none(loss="wgan-gp", batch=batch, g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.9, r1_gamma=0.0,
                       z_dim=64, r1_every=16)
        pac = cfg.options.pac or pac_default
        if cfg.batch % pac:
            raise UsageError(f"--batch {cfg.batch} must be a multiple of --pac {pac}: e.g. --batch "
                             f"{max(pac, cfg.batch // pac * pac)}")
        return cfg.replace(
            augment="none" if cfg.augment == "auto" else cfg.augment,
            # fp32 by default. bf16 autocast (--precision bf16) makes adult's step 50 -> 35 ms at width
            # 256 on one AVX512-BF16 core, but its benchmark fit scored 0.928 against fp32's 0.946 (one
            # seed each, docs/benchmarks.md); at width 128 it was slower than fp32 (28 vs 24 ms).
            precision="fp32" if cfg.precision == "auto" else cfg.precision,
            ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 10 / 32,
            steps=cfg.steps if cfg.steps is not None or cfg.minutes is not None else steps,
            options=cfg.options.fill_none(pac=pac, width=width, marginals=prep.codec.marginals),
        )

    def build_nets(self, cfg: TrainConfig, codec):
        from ...nets.table import TableDiscriminator, TableGenerator
        w = cfg.options.width
        G = TableGenerator(cfg.z_dim, codec.cond_dim, codec.spans, (w, w), cfg.options.tau,
                           codec.copula_corr, codec.copula_cond,
                           codec.copula_categoricals if codec.copula_corr is not None else None)
        D = TableDiscriminator(codec.data_dim, codec.cond_dim, (w, w), cfg.options.pac)
        return G, D

    def g_aux(self, fake: torch.Tensor, c: torch.Tensor | None, codec, cfg: TrainConfig) -> torch.Tensor:
        """Cross-entropy of G's output on the category its condition vector asked for, plus with
        --marginals copula and --copula-reg w: w times the copula penalty (codec.copula_penalty)."""
        w = cfg.options.copula_reg
        reg = w * codec.copula_penalty(fake, c) if w and codec.copula_corr is not None else None
        if c is None:
            return fake.new_zeros(()) if reg is None else reg
        p = (fake[:, codec.cond_index_on(fake.device)].float() * c).sum(1)
        ce = -torch.log(p.clamp_min(1e-6)).mean()
        return ce if reg is None else ce + reg

    def make_augment(self, cfg: TrainConfig):
        return None

    def make_evaluator(self, cfg: TrainConfig, prep: TablePrepared, cache_dir: Path | None):
        from ...metrics.table_eval import TableEvaluator
        return TableEvaluator(prep.frame, prep.holdout, prep.codec, cfg.options.target, cfg.eval_n, cfg.seed)

    def verdicts(self, results: dict) -> list[tuple[str, str]]:
        from ...metrics.table_eval import verdicts
        return verdicts(results)

    def report_panels(self, ev) -> list[tuple[str, str]]:
        from ...report.html import img_tag
        from ...report.table_plots import correlation_png, marginals_png
        real, fake = ev.prep.frame, ev.evaluator.last_fake
        kinds = ev.evaluator.kinds
        corr_r, corr_f = correlation_png(real, kinds, "real"), correlation_png(fake, kinds, "synthetic")
        return [
            ("Correlations, real (Pearson; categoricals as codes)", img_tag(corr_r, "real correlations")),
            ("Correlations, synthetic", img_tag(corr_f, "synthetic correlations")),
            (f"Marginals per column: real ({len(real)} rows) vs synthetic ({len(fake)} rows)",
             img_tag(marginals_png(real, fake, kinds), "marginals")),
        ]

    def decode(self, samples: torch.Tensor, codec):
        return codec.decode(samples)

    def export_info(self, codec) -> dict:
        """`fewgan export`: the graph gives encoded rows (batch, data_dim); this is the codec that
        decodes them (TableCodec's layout, see data/table_codec.py), plus the condition layout."""
        state = codec.state_dict()
        for c, mine in zip(state["columns"], codec.columns):
            c["start"] = mine["start"]
            for k in ("nan_cut", "qmap", "cat_bias"):       # set by calibration at sampling time
                if k in mine:
                    c[k] = mine[k]
        return {"layout": "(batch, data_dim) encoded rows", "data_dim": codec.data_dim,
                "column_order": codec.names, "spans": [list(s) for s in codec.spans], "codec": state,
                "decode_in_python": "fewgan.data.table_codec.TableCodec.from_state(info['codec']).decode(x)",
                "condition": None if not codec.cond_cols else {
                    "what": "c: float32 one-hot condition vector (batch, cond_dim); one slot set per row",
                    "cond_dim": codec.cond_dim, "columns": [codec.columns[i]["name"] for i in codec.cond_cols],
                    "offsets": codec.cond_offsets,
                    "unconditional_sampling": "pick a column uniformly, then a category at its training "
                                              "frequency (codec columns' freq)"}}

    def preview(self, samples: torch.Tensor, codec, path: Path) -> None:
        atomic_write_bytes(Path(path).with_suffix(".csv"), codec.decode(samples).to_csv(index=False).encode())

    def sample_frame(self, gen, n: int, seed: int = 0, where: dict | None = None):
        """n decoded rows; with `where` every row satisfies it (condition vector, then rejection), and
        every row satisfies the run's constraints (by construction, and rejection as a safety net)."""
        import pandas as pd
        codec = gen.codec
        if n < 1:
            raise UsageError(f"-n must be >= 1, got {n}")
        if not getattr(codec, "calibrated", False):  # once per generator: 20k rows are not free
            codec.calibrate(gen.sample)
            codec.calibrated = True
        cons = codec.constraints
        if not where and not cons:
            return codec.decode(gen.sample(n, None, seed))
        want = codec.resolve_where(where) if where else {}
        parts, got, tries, drawn, rate = [], 0, 0, 0, 1.0
        while got < n and tries < 20:
            m = min(max(64, math.ceil((n - got) / max(rate, 0.001) * 1.2)), 200_000)
            df = codec.decode(gen.sample(m, want or None, seed + 7919 * tries))
            ok = cons.mask(df)
            for col, v in want.items():
                ok &= df[col].isna().to_numpy() if isinstance(v, float) and math.isnan(v) else \
                    df[col].eq(v).to_numpy(dtype=bool, na_value=False)      # nullable Int64 holds <NA>
            parts.append(df[ok])
            got += int(ok.sum())
            drawn += m
            rate = max(got / drawn, 1e-4)
            tries += 1
        if got < n:
            what = f"--where {where}" if where else f"--constraint {', '.join(c.text for c in cons.items)}"
            raise UsageError(f"{what}: only {got} of {drawn} generated rows match: the model almost "
                             "never produces that; loosen the condition or train longer")
        return pd.concat(parts, ignore_index=True).iloc[:n].reset_index(drop=True)

    def write_samples(self, gen, n: int, path: Path, seed: int = 0, where: list | None = None,
                      chunk: int | None = None, progress: bool = False) -> None:
        """A .csv / .tsv / .parquet file of n rows in the training table's format; where: ["COL=VALUE", ...].
        Unconditional rows stream in chunks (train/stream.py): memory bounded by the chunk, not by n."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".tsv", ".parquet"):
            raise UsageError(f"--out {path}: use a .csv, .tsv or .parquet file name for table samples")
        if suffix == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise UsageError("writing Parquet needs pyarrow: pip install fewgan[parquet], or use .csv") from None
        codec = gen.codec
        if not where and not codec.constraints.needs_rejection:
            from ...train.stream import DEFAULT_CHUNK, stream, write_frames
            if n < 1:
                raise UsageError(f"-n must be >= 1, got {n}")
            if not getattr(codec, "calibrated", False):
                codec.calibrate(gen.sample)
                codec.calibrated = True
            stream(gen, n, path, seed, chunk or DEFAULT_CHUNK, progress, "rows",
                   lambda chunks, tmp, _: write_frames((codec.constraints.checked(codec.decode(x)) for x in chunks),
                                                       tmp, suffix[1:]))
            return
        df = self.sample_frame(gen, n, seed, parse_where(where))
        if suffix == ".parquet":
            import io
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            data = buf.getvalue()
        else:
            data = df.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",").encode()
        atomic_write_bytes(path, data)


def parse_where(items: list[str]) -> dict[str, str]:
    """["COL=VALUE", ...] -> {COL: VALUE}."""
    out = {}
    for item in items:
        col, eq, value = item.partition("=")
        if not eq or not col:
            raise UsageError(f"--where {item!r}: write it as COLUMN=VALUE")
        out[col] = value
    return out


class TableGAN(GAN):
    """TableGAN(steps=2000).fit(df).sample(1000, conditions={"sex": "Female"}) -> DataFrame.

    Every TableOptions field is a keyword too. The API trains on every row unless holdout= is given
    (the CLI keeps 20% for ml_efficacy and dcr)."""
    modality = "table"
    api_defaults = {"holdout": 0.0}

    def fit(self, data, out: str | Path | None = None, verbose: bool = False):
        """Train on a DataFrame, a .csv/.parquet path or a built-in name (breast_cancer, wine)."""
        return super().fit(data, None, out, verbose)

    def sample(self, n: int, conditions: dict | None = None, seed: int = 0):
        """n rows as a DataFrame; with conditions={column: value} every row satisfies them."""
        g = self._require_fit()
        return g.modality.sample_frame(g, n, seed, conditions)
