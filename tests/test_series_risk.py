"""Stylized facts and risk checks (metrics/series_risk.py) on processes with known answers; the
series evaluator's protocols and progress bar; evaluate/report of a series run end to end."""
import json

import numpy as np
import pytest
import torch
from scipy import stats

from conftest import TINY_S
from fewgan.metrics import load_all
from fewgan.metrics.series import EVAL_PATHS, PROTOCOLS, SeriesEvaluator
from fewgan.metrics.series_risk import (acf, cross_corr, excess_kurtosis, horizon_returns, ks, leverage, max_drawdown,
                                        real_paths, risk_checks, to_returns, var_es)
from fewgan.modalities.series.modality import SeriesCodec

RNG = np.random.default_rng


def test_student_t_returns_have_the_t_excess_kurtosis_and_normal_none():
    # t(nu): excess kurtosis 6 / (nu - 4); nu = 10 -> 1.0 (finite 8th moment: the estimate converges)
    t = RNG(0).standard_t(10, (1, 400_000, 1))
    assert abs(excess_kurtosis(t)[0] - 1.0) < 0.15
    assert abs(excess_kurtosis(RNG(1).normal(size=(1, 400_000, 1)))[0]) < 0.05


def test_ar1_has_geometric_acf_and_iid_none():
    phi, n = 0.5, 200_000
    e = RNG(0).normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    a = acf(x[None, :, None], 5)[:, 0]
    assert np.allclose(a, phi ** np.arange(1, 6), atol=0.02), a
    # the same process cut into 500 paths: pairs stay inside a path, same answer
    assert np.allclose(acf(x.reshape(500, -1, 1), 5)[:, 0], a, atol=0.02)
    assert np.abs(acf(RNG(1).normal(size=(1, n, 1)), 20)).max() < 0.02


def _garch(n, seed, asym=0.0):
    """GARCH(1,1) with an optional leverage term (GJR): returns (n,)."""
    rng = RNG(seed)
    e, r, h = rng.normal(size=n), np.empty(n), 1.0
    for t in range(n):
        r[t] = np.sqrt(h) * e[t]
        h = 0.05 + (0.08 + asym * (r[t] < 0)) * r[t] ** 2 + 0.85 * h
    return r


def test_volatility_clustering_and_leverage_are_seen():
    iid = RNG(0).normal(size=(1, 100_000, 1))
    g = _garch(100_000, 1)[None, :, None]
    a = acf(np.abs(g), 10)[:, 0]
    assert a.min() > 0.03 and a[0] > a[-1] and np.abs(acf(np.abs(iid), 10)).max() < 0.02   # slowly decaying
    assert abs(acf(g, 1)[0, 0]) < 0.02              # clustered, yet no linear autocorrelation
    gjr = _garch(100_000, 2, asym=0.15)[None, :, None]
    assert leverage(gjr)[0] < -0.03 and abs(leverage(iid)[0]) < 0.01 and abs(leverage(g)[0]) < 0.02


def test_var_es_of_normal_returns_and_sqrt_time_for_ten_days():
    r = RNG(0).normal(0, 0.01, (1, 400_000, 1))
    v, es = var_es(horizon_returns(r, 1), 99)
    z = stats.norm.ppf(0.99)
    assert abs(v[0] / 0.01 - z) < 0.03 and abs(es[0] / 0.01 - stats.norm.pdf(z) / 0.01) < 0.05
    v10, _ = var_es(horizon_returns(r, 10), 99)
    assert abs(v10[0] / (0.01 * np.sqrt(10)) - z) < 0.06
    assert np.allclose(horizon_returns(np.ones((2, 5, 1)), 3), 3) and horizon_returns(np.ones((2, 5, 1)), 3).shape == (6, 1)


def test_max_drawdown_and_log_returns_of_a_known_path():
    levels = np.array([100, 120, 60, 90, 130, 65.0])[None, :, None]
    mask = np.array([True])
    r = to_returns(levels, mask)
    assert np.allclose(r[0, :, 0], np.diff(np.log(levels[0, :, 0])))
    assert np.allclose(max_drawdown(r, mask), 0.5)
    assert np.allclose(max_drawdown(np.diff(levels, axis=1), np.array([False])), 65)   # units for non-log
    assert to_returns(np.array([[[1.0], [-1.0]]]), mask, floor=np.array([0.01]))[0, 0, 0] == pytest.approx(np.log(0.01))


def test_ks_and_cross_correlation():
    a = RNG(0).normal(size=5000)
    assert ks(a, RNG(1).normal(size=5000)) < 0.04 and ks(a, a + 100) == 1.0
    z = RNG(2).normal(size=(2, 200_000))
    x = np.stack([z[0], 0.6 * z[0] + 0.8 * z[1]], -1)[None]
    assert cross_corr(x)[0, 1] == pytest.approx(0.6, abs=0.01)


def test_real_series_is_rebuilt_from_its_windows_and_risk_checks_of_real_vs_itself_are_near_zero():
    rng = RNG(0)
    lv = 100 * np.exp(np.cumsum(_garch(6000, 3)[:, None] * 0.01 + rng.normal(0, 0.002, (6000, 2)), 0))
    w = lv[np.arange(len(lv) - 23)[:, None] + np.arange(24)]
    assert np.array_equal(real_paths(w)[0], lv)
    indep = rng.normal(size=(10, 24, 2))
    assert real_paths(indep) is not None and real_paths(indep).shape == (10, 24, 2)
    same = risk_checks(w, lv[:5000].reshape(20, 250, 2), ["a", "b"], 250)
    assert same["kurtosis_rel_gap"] < 0.3 and same["acf_returns_gap"] < 0.05 and same["var_gap"] < 0.1
    assert same["cross_corr_gap"] < 0.05 and same["drawdown_ks"] < 0.3
    walk = 100 + np.cumsum(rng.normal(0, 1, (20, 250, 2)), 1) * 0.01        # thin-tailed, no clustering
    other = risk_checks(w, walk, ["a", "b"], 250)
    assert other["acf_abs_gap"] > same["acf_abs_gap"] and other["es_gap"] > 0.5
    keys = load_all().keys
    for k in ("kurtosis_gap", "acf_gap", "acf_abs_gap", "leverage_gap", "var_gap", "es_gap", "drawdown_ks",
              "cross_corr_gap", "cross_corr_abs_gap"):
        assert k in keys and keys[k].goal == "min" and np.isfinite(same[k]), k
    json.dumps(same)                                                       # logged to metrics.jsonl


def test_evaluator_protocols_paths_and_progress_bar(capsys):
    torch.set_num_threads(1)
    rng = RNG(0)
    lv = 50 + np.cumsum(rng.normal(0, 1, (400, 2)), 0)
    codec = SeriesCodec(8, ["a", "b"], lv.min(0).tolist(), np.ptp(lv, 0).tolist())
    real = codec.encode(lv[np.arange(393)[:, None] + np.arange(8)])
    calls = []

    def sample(n, labels=None, seed=0, length=None):
        calls.append(length)
        steps = length or 8
        return codec.encode(lv[rng.integers(0, 400 - steps, n)[:, None] + np.arange(steps)])
    quick = SeriesEvaluator(real, codec, disc_iters=20, pred_iters=20, progress=True)
    res = quick.evaluate(sample)
    assert calls == [None, 250] and res["eval_length"] == 250 and res["eval_paths"] == EVAL_PATHS == 1000
    assert res["protocol"] == "quick" and res["repeats"] == PROTOCOLS["quick"][2] and res["disc_iters"] == 20
    assert "evaluating:" in capsys.readouterr().err and torch.get_num_threads() == 1
    full = SeriesEvaluator(real, codec, protocol="timegan", length=100)
    assert (full.disc_iters, full.pred_iters, full.repeats) == PROTOCOLS["timegan"] and full.length == 100


def test_cli_evaluate_takes_protocol_and_eval_length_and_report_has_risk_panels(tmp_path, cli, monkeypatch):
    import pandas as pd
    rng = RNG(0)
    pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 2)), 0)), columns=["p", "q"]).to_csv(
        tmp_path / "d.csv", index=False)
    run = tmp_path / "r"
    assert cli("train", "series", "--data", tmp_path / "d.csv", "--out", run, "--steps", 4, *TINY_S,
               "--disc-iters", 10, "--pred-iters", 10)[0] == 0
    code, out, err = cli("evaluate", run, "--json", "--eval-length", 60)
    res = json.loads(out)
    assert code == 0 and res["protocol"] == "quick" and res["eval_length"] == 60 and "evaluating:" in err
    monkeypatch.setitem(PROTOCOLS, "timegan", (12, 13, 1))     # the paper's counts, shrunk for the test
    code, out, _ = cli("evaluate", run, "--json", "--protocol", "timegan")
    res = json.loads(out)
    assert code == 0 and (res["protocol"], res["disc_iters"], res["pred_iters"]) == ("timegan", 12, 13)
    code, _, err = cli("evaluate", run, "--protocol", "paper")
    assert code == 2 and "quick" in err
    assert cli("report", run)[0] == 0
    html = (run / "report.html").read_text()
    assert "Autocorrelation of returns" in html and "Cross-series correlation" in html and "VaR 99% 1-day" in html
