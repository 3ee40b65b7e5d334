"""The table codec: DataFrame <-> float matrix, training-by-sampling and condition vectors.

Column kinds (what the model sees):
  continuous   floats, integers (rounded back on decode), datetimes (as seconds), with
               mode-specific normalisation: a variational Gaussian mixture per column (<= 10 modes,
               modes of weight < 0.005 dropped); a value is encoded as a scalar (x - mu_k) / (4 sigma_k)
               in [-1, 1] (tanh output) plus a one-hot of its mode k (softmax output).
               Exact values: a value held by >= 5% of the rows (a point mass such as the zeros of
               capital-gain), or every value of a column with <= 20 distinct ones, gets a mode of its
               own that decodes to exactly that value. A mixture mode spreads a point mass over
               +-4 sigma, which rounding does not undo (adult's capital-gain: KS complement 0.54).
  categorical  strings, booleans, few-valued integers, or anything named in --discrete / a schema:
               one-hot over the categories (softmax output).
Derived columns: a column that is a function of a categorical column on every training row (adult's
education-num of education; a code and its label) is not generated: it is decoded from that column
through the mapping seen in training, so the pair is always consistent. A GAN learns such a mapping
only approximately (adult, 3000 steps: education vs education-num contingency 0.41).
Missing values are modelled: a continuous column with NaN gets a 2-way one-hot flag (present,
missing); a categorical column with NaN gets NaN as one more category. Decoding restores the
column order, dtypes, integer rounding, decimals, [min, max] bounds and category spellings.

Everything the codec keeps is plain JSON-able values (checkpoints load with weights_only=True).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..errors import UsageError
from .table_constraints import Constraints
from .table_copula import copula_fit
from .table_columns import (FEW_VALUES, assign_modes, categories_to_series, category_codes, category_frequencies,
                            code_of, find_derived, fit_modes, fit_spikes, from_normal, hazen, match_category, n_modes,
                            numbers_to_series, numeric_values, snap, to_normal)

CALIBRATION_N, CALIBRATION_SEED = 20000, 999_983   # the sample that fixes the missing-value cuts and marginal maps
N_QUANTILES = 101                                   # real quantiles kept per column for the marginal map
COPULA_QUANTILES = 1001             # marginals="copula": one quantile per training row, up to this many


class TableCodec:
    """DataFrame <-> float matrix, plus training-by-sampling and condition vectors.

    Layout of one encoded row, column by column: continuous -> [scalar][modes one-hot][missing flag
    (2) if the column has NaN]; categorical -> [categories one-hot (+1 for NaN)]. `spans` lists
    (start, size, 'tanh' | 'softmax'). The condition vector is the concatenation of the categorical
    columns' one-hots (NaN slots included).
    """

    def __init__(self, columns: list[dict], seed: int = 0, constraints: Constraints | None = None,
                 marginals: str = "model", copula_corr: list | None = None, copula_cond: dict | None = None):
        self.columns, self.seed, self.marginals = columns, seed, marginals
        # marginals="copula": the correlation of the training rows' normal scores over the copula
        # columns (codec column order), which G's linear path reproduces (nets/table.py), and per
        # condition: {"mean": per condition slot, the mean normal scores of its rows; "cov": per
        # condition column, the pooled covariance around those means}
        self.copula_corr, self.copula_cond = copula_corr, copula_cond
        self._copula_t = None       # copula_penalty's tensors, built once per device
        self.constraints = constraints or Constraints([])     # applied around encode / decode
        self._layout()
        self._sampler = None

    # layout
    def _layout(self) -> None:
        spans, cond_spans, cond_cols, pos = [], [], [], 0
        for i, c in enumerate(self.columns):
            c["start"] = pos
            if c.get("derived"):
                continue
            if c["kind"] == "categorical":
                k = len(c["categories"]) + int(c["nan"])
                spans.append((pos, k, "softmax"))
                cond_spans.append((pos, k))
                cond_cols.append(i)
                pos += k
            elif c.get("copula"):       # one unbounded normal score (G: copula path + residual)
                spans.append((pos, 1, "linear"))
                pos += 1
                if c["nan"]:
                    spans.append((pos, 2, "softmax"))
                    pos += 2
            else:
                k = n_modes(c)
                spans += [(pos, 1, "tanh"), (pos + 1, k, "softmax")]
                pos += 1 + k
                if c["nan"]:
                    spans.append((pos, 2, "softmax"))
                    pos += 2
        self.spans, self.data_dim = spans, pos
        self.cond_cols = cond_cols                              # column indices that can condition
        self.cond_offsets = np.cumsum([0] + [k for _, k in cond_spans]).tolist()
        self.cond_dim = self.cond_offsets[-1]
        # data index of every condition slot (the G cross-entropy term reads these outputs)
        self.cond_index = torch.tensor([s + j for s, k in cond_spans for j in range(k)], dtype=torch.long)
        self._cond_index_dev: torch.Tensor | None = None

    def cond_index_on(self, device: torch.device) -> torch.Tensor:
        """cond_index on `device`, copied once (g_aux reads it every training step)."""
        if self._cond_index_dev is None or self._cond_index_dev.device != device:
            self._cond_index_dev = self.cond_index.to(device)
        return self._cond_index_dev

    def copula_penalty(self, fake: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """marginals="copula": how far a batch of G's normal scores is from the training rows'
        moments under the same conditions: the squared error of the second moments around each
        row's category mean (its condition's) against those categories' covariances (or the
        correlation, unconditionally), plus the squared mean offset, both estimated without bias
        from the two halves of the batch."""
        t = self._copula_t
        if t is None or t["device"] != fake.device:
            lin = [s for s, _, a in self.spans if a == "linear"]
            t = {"device": fake.device, "lin": torch.tensor(lin, device=fake.device),
                 "corr": torch.tensor(self.copula_corr, dtype=torch.float32, device=fake.device)}
            if self.copula_cond and self.cond_dim:
                t.update(mean=torch.tensor(self.copula_cond["mean"], dtype=torch.float32, device=fake.device),
                         cov=torch.tensor(self.copula_cond["cov"], dtype=torch.float32, device=fake.device))
            self._copula_t = t
        x = fake[:, t["lin"]].float()
        k, h = x.shape[1], len(x) // 2     # the continuous latents come first
        if not k or h < 2:      # only categorical columns in the copula, or too few rows
            return fake.new_zeros(())
        if c is not None and "mean" in t:
            c = c.float()
            r = x - c @ t["mean"][:, :k]
            target = lambda rows: torch.einsum("s,skl->kl", c[rows].mean(0), t["cov"][:, :k, :k])  # noqa: E731
        else:
            r, target = x, (lambda rows: t["corr"][:k, :k])  # noqa: E731
        # The product of two independent halves' errors: unbiased for the squared error of the
        # expected moments, whatever the batch (a squared single-batch error adds a variance term
        # that grows as the batch shrinks: a 2-rank run would train against another penalty).
        a, b = slice(0, h), slice(h, 2 * h)
        err = [r[i].T @ r[i] / h - target(i) for i in (a, b)]
        return (err[0] * err[1]).mean() + (r[a].mean(0) * r[b].mean(0)).mean()

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    @property
    def n_softmax(self) -> int:
        return sum(k for _, k, a in self.spans if a == "softmax")

    @property
    def n_copula(self) -> int:
        """Latent normal scores of G's copula path: the continuous copula columns, then the
        categorical ones (marginals="copula"; 0 otherwise)."""
        return len(self.copula_corr) if self.copula_corr is not None else 0

    @property
    def copula_categoricals(self) -> list[tuple[int, list[float]]]:
        """(start, cumulative frequencies) of each categorical column in the copula, latent order."""
        return [(c["start"], np.r_[0.0, np.cumsum(c["freq"])].tolist()) for c in self.columns
                if c["kind"] == "categorical" and c.get("copula") and not c.get("derived")]

    def noise_shape(self, z_dim: int) -> tuple[int]:
        # z, one Gaussian per copula column (G's linear path), and one per softmax output, turned
        # into Gumbel noise inside G: every random number of a sample comes from this seeded
        # noise, so sampling is reproducible.
        return (z_dim + self.n_copula + self.n_softmax,)

    def column(self, name: str) -> dict:
        for c in self.columns:
            if c["name"] == name:
                return c
        raise UsageError(f"unknown column {name!r}: the table's columns are {', '.join(self.names)}")

    # fitting
    @classmethod
    def fit(cls, df: pd.DataFrame, columns: list[dict], seed: int = 0,
            constraints: Constraints | None = None, marginals: str = "model") -> "TableCodec":
        """df: the user's training rows; columns: inferred on the frame the constraints make of them."""
        if constraints:
            df = constraints.fit(df)
        category_frequencies(df, columns)
        find_derived(df, columns)
        scores, decoders, raw = [], [], []  # marginals="copula": each copula column's normal scores
        for c in columns:
            if c["kind"] != "categorical" and not c.get("derived"):
                v = numeric_values(df[c["name"]], c)
                if marginals == "copula" and (~np.isnan(v)).any():
                    # every continuous column, spikes and integers too: the quantile map gives
                    # them back (flat stretches for point masses, rounding for integers)
                    obs = v[~np.isnan(v)]
                    nq = int(np.clip(len(obs), N_QUANTILES, COPULA_QUANTILES))
                    # hazen_n: the k-th of n sorted values gets the score Phi^-1((k - 1/2) / n), as
                    # a rank copula's; at (k - 1) / (n - 1) the min and max sat at +-4.75 (the clip),
                    # and those two outlying scores per column pulled every correlation of the
                    # scores toward 0 (diabetes' bmi-target 0.51 sampled vs 0.58 real; now
                    # docs/benchmarks.md, round 13)
                    c.update(copula=True, normal=True, spikes=[], means=[], stds=[], hazen_n=len(obs),
                             quantiles=np.quantile(obs, np.linspace(0, 1, nq)).tolist())
                    vals = np.unique(obs)
                    if len(vals) <= FEW_VALUES:     # decode snaps to these
                        c["values"] = vals.tolist()
                    z = np.zeros(len(v))            # (0 where missing), score -> value, values
                    z[~np.isnan(v)] = to_normal(obs, c, mid=True)
                    scores.append(z)
                    decoders.append(lambda t, c=c: cls._finish(from_normal(t, c), c))
                    raw.append(v)
                    continue
                v = v[~np.isnan(v)]
                c["spikes"] = fit_spikes(v)
                if marginals != "model" and not c["spikes"] and len(v):
                    c["quantiles"] = np.quantile(v, np.linspace(0, 1, N_QUANTILES)).tolist()
                    if marginals == "gaussian":       # G models normal scores (see to_normal)
                        c["normal"] = True
                        v = to_normal(v, c)
                rest = v[~np.isin(v, c["spikes"])]
                c["means"], c["stds"] = fit_modes(rest, seed) if len(rest) else ([], [])
        corr, cond = copula_fit(df, columns, scores, seed, decoders, raw) if scores else (None, None)
        return cls(columns, seed, constraints, marginals, corr, cond)

    # encode / decode
    def encode(self, df: pd.DataFrame) -> torch.Tensor:
        df = self.constraints.forward(df)
        n = len(df)
        out = np.zeros((n, self.data_dim), np.float32)
        rng = np.random.default_rng(self.seed)
        rows = np.arange(n)
        for c in self.columns:
            s, p = df[c["name"]], c["start"]
            if c.get("derived"):
                continue
            if c["kind"] == "categorical":
                codes = category_codes(s, c)
                out[rows, p + codes] = 1
                continue
            v = numeric_values(s, c)
            miss = np.isnan(v)
            if c.get("normal"):
                v[~miss] = to_normal(v[~miss], c, mid=bool(c.get("copula")))
            if miss.any():   # missing: the flag says so; the value slots get a random observed value
                v[miss] = rng.choice(v[~miss], int(miss.sum()))
            if c.get("copula"):
                out[:, p] = v
                if c["nan"]:
                    out[rows, p + 1 + miss.astype(int)] = 1
                continue
            means, stds = np.asarray(c["means"]), np.asarray(c["stds"])
            spikes = np.asarray(c.get("spikes", []), dtype=float)
            exact = np.isin(v, spikes)
            mode = np.empty(n, np.int64)
            if not len(means):      # only exact modes (a few-valued column): an unseen value -> the nearest
                v = snap(v, spikes)
                exact[:] = True
            if (~exact).any():
                m = assign_modes(v[~exact], means, stds)
                out[~exact, p] = np.clip((v[~exact] - means[m]) / (4 * stds[m]), -0.99, 0.99)
                mode[~exact] = m
            mode[exact] = len(means) + np.searchsorted(spikes, v[exact])     # scalar stays 0
            out[rows, p + 1 + mode] = 1
            if c["nan"]:
                f = p + 1 + n_modes(c)
                out[rows, f + miss.astype(int)] = 1
        return torch.from_numpy(out)

    def decode(self, x: torch.Tensor) -> pd.DataFrame:
        x = x.detach().float().cpu().numpy()
        data, cat_idx = {}, {}
        for c in self.columns:
            p = c["start"]
            if c.get("derived"):
                data[c["name"]] = None          # filled below, once its source column is decoded
                continue
            if c["kind"] == "categorical":
                k = len(c["categories"]) + int(c["nan"])
                if "cat_bias" in c:     # calibrated category frequencies (marginals="copula")
                    idx = (np.log(np.maximum(x[:, p:p + k], 1e-30)) + np.asarray(c["cat_bias"])).argmax(1)
                else:
                    idx = x[:, p:p + k].argmax(1)
                cat_idx[c["name"]] = idx
                data[c["name"]] = categories_to_series(idx, c)
                continue
            v = self._raw_numeric(x, c)
            if "qmap" in c:     # calibrated marginal: G's quantiles -> the training data's
                v = np.interp(v, c["qmap"], c["quantiles"])
            elif c.get("normal"):
                v = from_normal(v, c)
            v = self._finish(v, c)
            if c["nan"]:
                v[self._missing_score(x, c) > c.get("nan_cut", 0.0)] = np.nan
            data[c["name"]] = numbers_to_series(v, c)
        for c in self.columns:
            if c.get("derived"):
                v = np.asarray(c["derived"]["map"])[cat_idx[c["derived"]["from"]]]
                data[c["name"]] = (categories_to_series(v.astype(np.int64), c) if c["kind"] == "categorical"
                                   else numbers_to_series(v.astype(float), c))
        return self.constraints.reverse(pd.DataFrame(data))

    @staticmethod
    def _finish(v: np.ndarray, c: dict) -> np.ndarray:
        """A continuous column's mapped values clipped to its range, snapped, rounded as its data."""
        v = np.clip(v, c["min"], c["max"])
        if "values" in c:   # a few-valued copula column: the quantile map interpolates between its
            v = snap(v, c["values"])        # steps (fair's age: 17.6 between 17.5 and 22)
        if c.get("is_int"):
            v = np.round(v)
        elif c.get("decimals") is not None:
            v = np.round(v, c["decimals"])
        return np.clip(v, c["min"], c["max"])   # again: rounding a huge value can step past a bound

    @staticmethod
    def _raw_numeric(x: np.ndarray, c: dict) -> np.ndarray:
        """A continuous column's values from G's output, before any map, clipping or rounding."""
        p = c["start"]
        if c.get("copula"):
            return x[:, p].astype(float)
        means, stds = np.asarray(c["means"]), np.asarray(c["stds"])
        spikes = np.asarray(c.get("spikes", []), dtype=float)
        mode = x[:, p + 1:p + 1 + n_modes(c)].argmax(1)
        mixture = mode < len(means)
        v = np.empty(len(x))
        m = mode[mixture]
        v[mixture] = np.clip(x[mixture, p], -1, 1) * 4 * stds[m] + means[m]
        v[~mixture] = spikes[mode[~mixture] - len(means)]
        return v

    @property
    def has_missing(self) -> bool:
        return any(c["nan"] for c in self.columns if c["kind"] != "categorical" and not c.get("derived"))

    @staticmethod
    def _missing_score(x: np.ndarray, c: dict) -> np.ndarray:
        """log(p_missing / p_present) of G's Gumbel-softmax flag: the flag's logit gap plus logistic
        noise, over tau. Cutting it at t instead of 0 is the same as shifting that logit by -t*tau."""
        f = c["start"] + 1 + n_modes(c)
        return np.log(np.maximum(x[:, f + 1], 1e-30)) - np.log(np.maximum(x[:, f], 1e-30))

    def calibrate(self, sample) -> None:
        """From one large fixed-seed unconditional sample of G, sample(n, None, seed) -> raw rows:
        - each missing flag's cut, so that the sample is missing at the training data's rate. G
          still decides *which* rows are missing; the cut fixes the overall rate, which a short
          adversarial training leaves a few points off (docs/benchmarks.md);
        - with marginals="calibrated", each spike-free continuous column's monotone map from G's
          quantiles to the training data's (quantile mapping): the marginal becomes the data's, the
          ranks, and so the dependence between columns, stay G's (docs/benchmarks.md, tables);
        - with marginals="copula", each categorical column's per-category offsets to G's log
          outputs (decode takes the argmax after them), so that the sample's category frequencies
          are the training data's (G's drift a point or two over a long training)."""
        mapped = [c for c in self.columns if "quantiles" in c and not c.get("derived")]
        cats = [c for c in self.columns if c["kind"] == "categorical" and not c.get("derived")] \
            if self.marginals == "copula" else []
        if not self.has_missing and not mapped and not cats:
            return
        x = sample(CALIBRATION_N, None, CALIBRATION_SEED).detach().float().cpu().numpy()
        for c in self.columns:
            if c["kind"] != "categorical" and c["nan"] and not c.get("derived"):
                c["nan_cut"] = float(np.quantile(self._missing_score(x, c), 1 - c["nan_rate"]))
        for c in mapped:
            # a copula column's knots sit at Hazen positions (to_normal): the end values get half a
            # row's mass each. Mapping G's sample min and max to them instead stretched the end
            # steps to the 20k-row extremes: 354-row samples of diabetes' s4 peaked at 8.46 on
            # average, against the data's 9.09 (docs/benchmarks.md, round 14)
            q = np.quantile(self._raw_numeric(x, c), hazen(np.linspace(0, 1, len(c["quantiles"])), c))
            c["qmap"] = (np.maximum.accumulate(q) + 1e-9 * np.arange(len(q)) * max(1.0, np.ptp(q))).tolist()
        for c in cats:
            p, k = c["start"], len(c["categories"]) + int(c["nan"])
            logx = np.log(np.maximum(x[:, p:p + k], 1e-30))
            want, b = np.asarray(c["freq"]), np.zeros(k)
            # Multiplicative updates on the offsets, in units of the gap between a row's two largest
            # log outputs: G's are near one-hot (tau 0.2, gaps ~50 nats on fair), so a unit step
            # moves few rows. With 0.5-nat steps and 30 rounds fair's categories stayed 1.3-2.2
            # points (TV) off the training frequencies; now up to 300 rounds, stopping within half a row.
            top2 = np.sort(logx, 1)[:, -2:] if k > 1 else np.zeros((len(logx), 2))
            step = max(0.5, 0.05 * float(np.median(top2[:, 1] - top2[:, 0])))
            for _ in range(300):
                got = np.bincount((logx + b).argmax(1), minlength=k) / len(logx)
                if np.abs(got - want).max() < 0.5 / len(logx):
                    break
                b += step * (np.log(want + 1e-4) - np.log(got + 1e-4))
            c["cat_bias"] = b.tolist()

    # training-by-sampling and conditions
    def build_sampler(self, x: torch.Tensor) -> None:
        """Row lists per category of the encoded training matrix x (for sample_batch)."""
        if not self.cond_cols:
            self._sampler = None
            return
        slots = x[:, self.cond_index] > 0.5                       # (N, cond_dim) one-hots
        counts = slots.sum(0).double()
        rows = [torch.nonzero(slots[:, j]).reshape(-1) for j in range(self.cond_dim)]
        starts = torch.tensor(np.cumsum([0] + [len(r) for r in rows[:-1]]).tolist(), dtype=torch.long)
        n_cols = len(self.cond_cols)
        kmax = max(self.cond_offsets[i + 1] - self.cond_offsets[i] for i in range(n_cols))
        logp = torch.zeros(n_cols, kmax, dtype=torch.double)
        freq = torch.zeros(n_cols, kmax, dtype=torch.double)
        for i in range(n_cols):
            a, b = self.cond_offsets[i], self.cond_offsets[i + 1]
            logp[i, :b - a] = torch.log1p(counts[a:b])
            freq[i, :b - a] = counts[a:b]
        self._sampler = {
            "rows": torch.cat(rows), "starts": starts, "counts": counts.long(),
            "logp": (logp / logp.sum(1, keepdim=True)).float(), "freq": (freq / freq.sum(1, keepdim=True)).float(),
            "offsets": torch.tensor(self.cond_offsets[:-1], dtype=torch.long),
        }

    def sample_batch(self, x: torch.Tensor, y, batch: int, device: torch.device):
        """Training-by-sampling: a discrete column uniformly, a category in it with probability
        proportional to log(1 + count), then a real row holding that category."""
        s = self._sampler
        if s is None:
            idx = torch.randint(len(x), (batch,), device=device)
            return x[idx], None
        col = torch.randint(len(s["offsets"]), (batch,))
        cat = torch.multinomial(s["logp"][col], 1).squeeze(1)
        slot = s["offsets"][col] + cat
        r = s["starts"][slot] + (torch.rand(batch) * s["counts"][slot]).long()
        # Drawn on the CPU (the sampler's tables live there); one host->device copy per step.
        idx, slot = torch.stack([s["rows"][r], slot]).to(device)
        return x[idx], torch.nn.functional.one_hot(slot, self.cond_dim).to(x.dtype)

    def conditions(self, n: int, labels, gen: torch.Generator) -> torch.Tensor | None:
        """Condition vectors for sampling. labels None: a discrete column uniformly and a category
        at its real frequency; labels {column: value}: that category (rejection does the rest)."""
        if not self.cond_cols:
            if labels:
                raise UsageError("this table has no categorical columns to condition on")
            return None
        c = torch.zeros(n, self.cond_dim)
        if labels is None:
            freq = torch.tensor(self.freqs_padded(), dtype=torch.float)
            col = torch.randint(len(self.cond_cols), (n,), generator=gen)
            cat = torch.multinomial(freq[col], 1, generator=gen).squeeze(1)
            slot = torch.tensor(self.cond_offsets[:-1])[col] + cat
            c[torch.arange(n), slot] = 1
            return c
        if not isinstance(labels, dict):
            raise UsageError("--label is for image runs: use --where COLUMN=VALUE for tables")
        slot = self.condition_slot(labels)
        if slot is not None:
            c[:, slot] = 1
        else:   # only numeric conditions: sample the discrete columns as usual
            return self.conditions(n, None, gen)
        return c

    def freqs_padded(self) -> list[list[float]]:
        kmax = max(len(c["freq"]) for c in (self.columns[i] for i in self.cond_cols))
        return [self.columns[i]["freq"] + [0.0] * (kmax - len(self.columns[i]["freq"])) for i in self.cond_cols]

    def resolve_where(self, where: dict) -> dict[str, object]:
        """{column: value in the column's own type}; UsageError for unknown columns or values."""
        out = {}
        for name, value in where.items():
            c = self.column(name)
            if c["kind"] == "categorical":
                out[name] = match_category(c, value)
            elif c.get("is_int"):
                try:
                    v = float(value)
                except (TypeError, ValueError):
                    raise UsageError(f"--where {name}={value}: {name!r} is an integer column: give a "
                                     f"whole number in [{c['min']:g}, {c['max']:g}]") from None
                if v != round(v) or not c["min"] <= v <= c["max"]:
                    raise UsageError(f"--where {name}={value}: impossible: {name!r} holds whole numbers in "
                                     f"[{c['min']:g}, {c['max']:g}]")
                out[name] = v
            else:
                raise UsageError(f"--where {name}={value}: {name!r} is continuous: condition on a categorical "
                                 "or integer column, or filter the samples yourself")
        return out

    def condition_slot(self, where: dict) -> int | None:
        """The condition-vector slot of the rarest categorical condition in `where` (resolved)."""
        best = None
        for name, value in where.items():
            i = self.names.index(name)
            c = self.columns[i]
            if c.get("derived"):          # condition on the source category, if only one maps to value
                src = self.names.index(c["derived"]["from"])
                j = code_of(c, value)
                hits = [a for a, b in enumerate(c["derived"]["map"]) if b == j]
                if not hits:
                    raise UsageError(f"--where {name}={value}: impossible: {name!r} is decoded from "
                                     f"{c['derived']['from']!r} and no training row has that value")
                if len(hits) > 1:
                    continue          # several source categories: rejection sampling does it
                c, i, value = self.columns[src], src, self.columns[src]["categories"][hits[0]]
            if c["kind"] != "categorical":
                continue
            j = code_of(c, value)
            f = c["freq"][j]
            if best is None or f < best[0]:
                best = (f, self.cond_offsets[self.cond_cols.index(i)] + j)
        return None if best is None else best[1]

    # state
    def state_dict(self) -> dict:
        keep = ("name", "kind", "dtype", "nan", "nan_rate", "is_int", "min", "max", "decimals", "categories",
                "means", "stds", "spikes", "freq", "derived", "quantiles", "normal", "copula", "values", "hazen_n")
        return {"columns": [{k: c[k] for k in keep if k in c} for c in self.columns], "seed": self.seed,
                "constraints": self.constraints.state_dict(), "marginals": self.marginals,
                **({"copula_corr": self.copula_corr} if self.copula_corr is not None else {}),
                **({"copula_cond": self.copula_cond} if self.copula_cond is not None else {})}

    @classmethod
    def from_state(cls, s: dict) -> "TableCodec":
        return cls([dict(c) for c in s["columns"]], s.get("seed", 0), Constraints.from_state(s.get("constraints")),
                   s.get("marginals", "model"), s.get("copula_corr"), s.get("copula_cond"))
