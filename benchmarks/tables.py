"""Tables benchmark: fewgan vs CTGAN 0.12.1 (default, and at our step count) vs a Gaussian copula vs
a real holdout, on breast_cancer, wine (scikit-learn) and adult (/work/shared, skipped if absent).

Protocol: each table is split 80/20 (seeded); every method fits the 80% training rows in its own
subprocess (fit wall time and peak RSS measured there, 1 torch thread) and samples as many rows.
Scores: SDMetrics 0.32 QualityReport (metadata from our inferred column types), our detection
(logistic ROC-AUC mapped to 1 - 2*max(AUC-0.5, 0)), ML efficacy (gradient boosting trained on
synthetic, tested on the 20% holdout, over the same model trained on real) and DCR protection
(synthetic vs training rows vs holdout). "real holdout" = the 20% holdout itself scored as if it
were synthetic (quality and detection against the training rows).

    python benchmarks/tables.py [--datasets breast_cancer,wine,adult] [--ctgan-epochs N]
        [--variants '{"fewgan_copula": {"marginals": "copula"}}' --methods fewgan,fewgan_copula,...]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ADULT = SHARED / "data" / "adult"
RESULTS = ROOT / "benchmarks" / "results" / "tables.json"
sys.path.insert(0, str(ROOT / "src"))


def load(name: str) -> tuple[pd.DataFrame, dict | None]:
    if name == "adult":
        return pd.read_csv(ADULT / "adult.csv"), json.loads((ADULT / "adult.json").read_text())
    from fewgan.data.table import read_table
    return read_table(name)[0], None


def kinds_for(df: pd.DataFrame, schema) -> dict[str, str]:
    from fewgan.data.table import infer_columns, load_schema
    cols = infer_columns(df, None, load_schema(schema))
    return {c["name"]: "categorical" if c["kind"] == "categorical" else "numeric" for c in cols}


def split(df: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    perm = np.random.default_rng(seed).permutation(len(df))
    n_hold = int(round(0.2 * len(df)))
    return (df.iloc[np.sort(perm[n_hold:])].reset_index(drop=True),
            df.iloc[np.sort(perm[:n_hold])].reset_index(drop=True))


# -- a tiny Gaussian copula (our own): empirical marginals + a Gaussian dependence ---------------
class GaussianCopula:
    def __init__(self, kinds: dict[str, str], seed: int = 0):
        self.kinds, self.rng = kinds, np.random.default_rng(seed)

    def fit(self, df: pd.DataFrame) -> "GaussianCopula":
        from scipy.stats import norm
        self.cols, z = {}, []
        for c, k in self.kinds.items():
            s = df[c]
            nan_rate = float(s.isna().mean())
            obs = s.dropna()
            if k == "numeric":
                v = pd.to_numeric(obs).to_numpy(float)
                self.cols[c] = ("num", np.sort(v), nan_rate, s.dtype)
                u = (pd.Series(v).rank(method="average").to_numpy() - 0.5) / len(v)
            else:
                freq = obs.value_counts(normalize=True)
                cum = np.r_[0, np.cumsum(freq.to_numpy())]
                self.cols[c] = ("cat", (list(freq.index), cum), nan_rate, s.dtype)
                pos = {v: i for i, v in enumerate(freq.index)}
                idx = np.array([pos[v] for v in obs])
                u = cum[idx] + (cum[idx + 1] - cum[idx]) * self.rng.uniform(0.05, 0.95, len(idx))
            full = np.zeros(len(s))
            full[s.notna().to_numpy()] = norm.ppf(np.clip(u, 1e-6, 1 - 1e-6))
            z.append(full)
        self.corr = np.corrcoef(np.array(z)) if len(z) > 1 else np.ones((1, 1))
        self.corr = np.nan_to_num(self.corr) + 1e-6 * np.eye(len(z))
        return self

    def sample(self, n: int) -> pd.DataFrame:
        from scipy.stats import norm
        z = self.rng.multivariate_normal(np.zeros(len(self.cols)), self.corr, n)
        u = norm.cdf(z)
        out = {}
        for j, (c, (kind, ref, nan_rate, dtype)) in enumerate(self.cols.items()):
            if kind == "num":
                v = np.quantile(ref, u[:, j])
                if pd.api.types.is_integer_dtype(dtype) or np.all(ref == np.round(ref)):
                    v = np.round(v)
                s = pd.Series(v)
                if pd.api.types.is_integer_dtype(dtype) and not nan_rate:
                    s = s.astype(dtype)
            else:
                cats, cum = ref
                idx = np.clip(np.searchsorted(cum, u[:, j], side="right") - 1, 0, len(cats) - 1)
                s = pd.Series(np.asarray(cats, dtype=object)[idx])
                if not nan_rate:
                    s = s.astype(dtype)
            if nan_rate:
                s = s.astype(object if kind == "cat" else float)
                s[self.rng.random(n) < nan_rate] = np.nan
            out[c] = s
        return pd.DataFrame(out)


# -- one fit per subprocess ----------------------------------------------------------------------
def fit_one(method: str, dataset: str, out: str, opts: dict) -> None:
    import torch
    torch.set_num_threads(1)
    df, schema = load(dataset)
    train, _ = split(df)
    kinds = kinds_for(df, schema)
    discrete = [c for c, k in kinds.items() if k == "categorical"]
    t0, c0 = time.perf_counter(), time.process_time()   # CPU: the machine is shared, wall is noisy
    info = {}
    if method == "fewgan" or method in opts.get("variants", {}):
        from fewgan import TableGAN
        kw = {**opts.get("fewgan_kw", {}), **opts.get("variants", {}).get(method, {})}
        gan = TableGAN(holdout=0.0, threads=1, schema=schema, discrete=discrete, **kw).fit(train)
        fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        fake = gan.sample(len(train), seed=1)
        info = {"steps": gan.config.steps, "batch": gan.config.batch, "width": gan.config.options.width,
                "marginals": gan.config.options.marginals}
    elif method.startswith("ctgan"):
        from ctgan import CTGAN
        epochs = opts.get("ctgan_epochs") or 300
        if method == "ctgan_same_steps":
            per_epoch = max(1, len(train) // 500)
            epochs = max(1, math.ceil(opts["steps"] / per_epoch))
        model = CTGAN(epochs=epochs, cuda=False)
        model.fit(train, discrete_columns=discrete)
        fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        fake = model.sample(len(train))
        info = {"epochs": epochs, "steps": epochs * max(1, len(train) // 500)}
    elif method == "copula":
        model = GaussianCopula(kinds).fit(train)
        fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        fake = model.sample(len(train))
    else:
        raise ValueError(method)
    fake.to_pickle(out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "peak_mb": peak_mb, **info}))


def run_fit(method: str, dataset: str, opts: dict) -> tuple[pd.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fake.pkl"
        extra = os.environ.get("PYTHONPATH")       # e.g. where ctgan is installed, after our src
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src")] + ([extra] if extra else []))}
        p = subprocess.run([sys.executable, __file__, "--fit-one", method, dataset, str(out), json.dumps(opts)],
                           capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"{method} on {dataset} failed:\n{p.stderr[-3000:]}")
        info = json.loads(p.stdout.strip().splitlines()[-1])
        return pd.read_pickle(out), info


# -- scores --------------------------------------------------------------------------------------
def sdv_quality(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str]) -> dict:
    from sdmetrics.reports.single_table import QualityReport
    meta = {"columns": {c: {"sdtype": "numerical" if k == "numeric" else "categorical"} for c, k in kinds.items()}}
    rep = QualityReport()
    rep.generate(real, fake[real.columns], meta, verbose=False)
    props = dict(zip(rep.get_properties()["Property"], rep.get_properties()["Score"]))
    return {"sdmetrics_quality": float(rep.get_score()), "column_shapes": float(props["Column Shapes"]),
            "pair_trends": float(props["Column Pair Trends"])}


def score(train, hold, fake, kinds, with_holdout=True) -> dict:
    from fewgan.metrics.table_eval import dcr, detection, ml_efficacy
    out = {**sdv_quality(train, fake, kinds), "detection": detection(train, fake, kinds)["detection"]}
    if with_holdout:
        out["ml_efficacy"] = ml_efficacy(train, fake, hold, kinds)["ml_efficacy"]
        out["dcr"] = dcr(train, fake, hold, kinds)["dcr"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="breast_cancer,wine,adult")
    ap.add_argument("--methods", default="fewgan,ctgan_default,ctgan_same_steps,copula,real_holdout")
    ap.add_argument("--ctgan-epochs", type=int, help="CTGAN epochs for ctgan_default (default 300)")
    ap.add_argument("--fewgan-kw", default="{}", help="JSON of extra TableGAN settings (tuning)")
    ap.add_argument("--variants", default="{}", help='JSON {method name: TableGAN settings}: extra fewgan rows '
                                                     'to name in --methods, e.g. {"fewgan_copula": {"marginals": "copula"}}')
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--append", action="store_true",
                    help="add rows to an existing results file (a re-run dataset/method replaces its row)")
    a = ap.parse_args()
    import sdmetrics
    results = {"protocol": " ".join(__doc__.strip().splitlines()[2:9]), "sdmetrics": sdmetrics.__version__,
               "ctgan": "0.12.1", "cpu": f"{os.cpu_count()} cores (shared), torch threads 1", "rows": []}
    if a.append and Path(a.out).exists():
        results["rows"] = json.loads(Path(a.out).read_text())["rows"]
    for ds in a.datasets.split(","):
        if ds == "adult" and not (ADULT / "adult.csv").exists():
            print(f"skipping adult: {ADULT} not found")
            continue
        df, schema = load(ds)
        train, hold = split(df)
        kinds = kinds_for(df, schema)
        opts = {"fewgan_kw": json.loads(a.fewgan_kw), "ctgan_epochs": a.ctgan_epochs,
                "variants": json.loads(a.variants)}
        steps = None
        for m in a.methods.split(","):
            if m == "real_holdout":
                row = {"fit_s": 0.0, "peak_mb": None, **score(train, hold, hold, kinds, with_holdout=False)}
            else:
                if m == "ctgan_same_steps":
                    if steps is None:
                        continue
                    opts["steps"] = steps
                fake, info = run_fit(m, ds, opts)
                if m == "fewgan":
                    steps = info["steps"]
                row = {**info, **score(train, hold, fake, kinds)}
            row = {"dataset": ds, "rows": len(train), "method": m, **row}
            if m == "ctgan_default" and a.ctgan_epochs:
                row["note"] = f"--ctgan-epochs {a.ctgan_epochs} (not CTGAN's default 300)"
            old = [i for i, r in enumerate(results["rows"]) if (r["dataset"], r["method"]) == (ds, m)]
            if old:         # --append re-runs a method: its row is replaced in place
                results["rows"][old[0]] = row
            else:
                results["rows"].append(row)
            print(fmt_row(row), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=2) + "\n")
    print(table(results["rows"]))


def fmt_row(r: dict) -> str:
    f = lambda k, p=3: "-" if r.get(k) is None else f"{r[k]:.{p}f}"  # noqa: E731
    return (f"{r['dataset']:<14}{r['method']:<18}{f('sdmetrics_quality'):>9}{f('pair_trends'):>7}{f('detection'):>10}"
            f"{f('ml_efficacy'):>8}{f('dcr'):>7}{f('fit_s', 1):>8}{f('fit_cpu_s', 1):>8}{f('peak_mb', 0):>8}  "
            f"{r.get('steps', '')}")


def table(rows: list[dict]) -> str:
    head = (f"{'dataset':<14}{'method':<18}{'quality':>9}{'pairs':>7}{'detection':>10}{'ML eff':>8}{'DCR':>7}"
            f"{'fit s':>8}{'cpu s':>8}{'peak MB':>8}  steps")
    return "\n".join([head] + [fmt_row(r) for r in rows])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--fit-one":
        fit_one(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))
    else:
        main()
