"""Seed spread of SDMetrics quality on the small tables: the same 80/20 split as tables.py; each
fewgan setting is fitted with seeds 0 and 1 and sampled with seeds 1, 2, 3 (6 scores), the Gaussian
copula of tables.py with seeds 0-5. One process, 1 torch thread.

    python benchmarks/tables_seeds.py breast_cancer,wine '{"fewgan": {}, "fewgan_before": {"marginals": "calibrated"}}'
    python benchmarks/tables_seeds.py diabetes '{"fewgan": {}}' 5x6    # fit seeds 0-4 x sample seeds 1-6, copula seeds 0-29

Prints mean, sd and the standard error of the mean (se) of each setting's scores.
"""
import sys, json, numpy as np, torch
sys.path.insert(0, "benchmarks")
import tables as T
torch.set_num_threads(1)
from fewgan import TableGAN
fits, samples = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "2x3").split("x"))
for ds in sys.argv[1].split(","):
    df, schema = T.load(ds); train, hold = T.split(df); kinds = T.kinds_for(df, schema)
    disc = [c for c, k in kinds.items() if k == "categorical"]
    res = {}
    for name, kw in json.loads(sys.argv[2]).items():
        qs = []
        for fs in range(fits):
            gan = TableGAN(holdout=0.0, threads=1, schema=schema, discrete=disc, seed=fs, **kw).fit(train)
            for ss in range(1, samples + 1):
                qs.append(T.sdv_quality(train, gan.sample(len(train), seed=ss), kinds))
        res[name] = qs
    qs = [T.sdv_quality(train, T.GaussianCopula(kinds, seed=s).fit(train).sample(len(train)), kinds) for s in range(fits * samples)]
    res["copula"] = qs
    for name, qs in res.items():
        a = np.array([q["sdmetrics_quality"] for q in qs])
        print(f"{ds:14s}{name:14s} quality mean {a.mean():.4f} sd {a.std(ddof=1):.4f} se {a.std(ddof=1) / np.sqrt(len(a)):.4f} "
              f"min {a.min():.4f} max {a.max():.4f} "
              f"pairs {np.mean([q['pair_trends'] for q in qs]):.4f} n={len(a)}", flush=True)
