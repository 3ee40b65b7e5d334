"""Time-series modality: data and errors, metrics that can fail, CLI end to end, exact resume, API."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import SHARED, TINY_S, assert_same_checkpoint, tree_digest
from fewgan import SeriesGAN
from fewgan.config import TrainConfig
from fewgan.data.series import sines, windows
from fewgan.errors import UsageError
from fewgan.metrics.series import discriminative, predictive
from fewgan.modalities import get_modality
from fewgan.train.checkpoint import load_checkpoint

STOCK = SHARED / "data" / "stock" / "stock_data.csv"


def _walk(n=400, f=3, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(100 + rng.normal(0, 1, (n, f)).cumsum(0), columns=[f"c{i}" for i in range(f)])


# -- data -------------------------------------------------------------------------------------------
def test_windows_scaling_and_decode_round_trip(tmp_path):
    df = _walk(50)
    cfg = TrainConfig.build("series", data=str(tmp_path / "w.csv"), seq_len=10)
    df.to_csv(cfg.data, index=False)
    prep = get_modality("series").prepare(cfg)
    assert prep.x.shape == (41, 10, 3) and prep.x.min() == 0 and prep.x.max() == 1
    back = prep.codec.decode(prep.x)
    assert np.allclose(back[0], df.to_numpy()[:10], atol=1e-4) and np.allclose(back[-1], df.to_numpy()[-10:], atol=1e-4)
    assert np.array_equal(windows(np.arange(5)[:, None], 3)[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])


def test_sines_follow_the_paper():
    w = sines(200, 24, 5, seed=0)
    assert w.shape == (200, 24, 5) and w.min() >= 0 and w.max() <= 1
    phase = np.arcsin(2 * w[:, 0] - 1)                    # (200, 5): sin(p) at t = 0
    freq = np.arcsin(2 * w[:, 1] - 1) - phase             # sin(f + p) at t = 1 (f + p < pi / 2)
    assert (phase >= 0).all() and (phase <= 0.1).all() and (freq >= 0).all() and (freq <= 0.1).all()
    t = np.arange(24)[None, :, None]
    assert np.allclose(w, (np.sin(freq[:, None] * t + phase[:, None]) + 1) / 2, atol=1e-9)


@pytest.mark.skipif(not STOCK.exists(), reason="needs /work/shared stock data")
def test_stock_file_as_in_timegan():
    cfg = TrainConfig.build("series", data=str(STOCK), reverse=True)
    prep = get_modality("series").prepare(cfg)
    raw = pd.read_csv(STOCK).to_numpy()
    assert prep.x.shape == (len(raw) - 23, 24, 6)
    assert np.allclose(prep.codec.decode(prep.x[0, 0]), raw[-1], rtol=1e-5)


def test_macro_builtin():
    prep = get_modality("series").prepare(TrainConfig.build("series", data="macro"))
    assert prep.x.shape[1:] == (24, 12) and len(prep.x) == 203 - 23


def test_nan_fill_option(tmp_path):
    df = _walk(60)
    df.iloc[5, 1] = np.nan
    df.to_csv(tmp_path / "gap.csv", index=False)
    cfg = TrainConfig.build("series", data=str(tmp_path / "gap.csv"), fill="ffill", seq_len=8)
    prep = get_modality("series").prepare(cfg)
    assert torch.isfinite(prep.x).all() and len(prep.x) == 53


def test_bad_series_inputs_are_one_line_exit_2(tmp_path, cli):
    df = _walk(60)
    df.iloc[:30].to_csv(tmp_path / "short.csv", index=False)
    df.assign(date=pd.date_range("2020-01-01", periods=60).astype(str)).to_csv(tmp_path / "dates.csv", index=False)
    gap = df.copy()
    gap.iloc[7, 2] = np.nan
    gap.to_csv(tmp_path / "gap.csv", index=False)
    df.assign(flat=1.0).to_csv(tmp_path / "flat.csv", index=False)
    cases = {
        "short": (["--data", tmp_path / "short.csv", "--seq-len", "40"], ["30 rows", "--seq-len"]),
        "non-numeric": (["--data", tmp_path / "dates.csv"], ["non-numeric", "date", "drop"]),
        "nan gap": (["--data", tmp_path / "gap.csv"], ["NaN", "c2", "--fill ffill"]),
        "constant": (["--data", tmp_path / "flat.csv"], ["constant", "flat", "drop"]),
        "missing": (["--data", tmp_path / "nope.csv"], ["no such"]),
        "bad cell": (["--data", "sines", "--model", "timegan", "--cell", "rnn"], ["--cell"]),
        "bad model": (["--data", "sines", "--model", "vae"], ["--model", "rgan", "timegan"]),
        "timegan flag": (["--data", "sines", "--ae-steps", "5"], ["--ae-steps", "--model timegan"]),
        "returns flag": (["--data", "sines", "--train-len", "30"], ["--train-len", "--model returns"]),
        "returns tail": (["--data", "sines", "--tail", "gpd"], ["--tail", "--model returns"]),
        "returns fact loss": (["--data", "sines", "--fact-loss", "1"], ["--fact-loss", "--model returns"]),
        "returns calibrate": (["--data", "sines", "--no-calibrate"], ["--no-calibrate", "--model returns"]),
        "returns leverage loss": (["--data", "sines", "--leverage-loss", "1"], ["--leverage-loss", "--model returns"]),
        "bad tail": (["--data", "sines", "--model", "returns", "--tail", "t"], ["--tail"]),
        "timegan loss": (["--data", "sines", "--model", "timegan", "--loss", "hinge"], ["--loss", "timegan"]),
        "augment": (["--data", "sines", "--augment", "diffaug"], ["--augment", "images"]),
        "bad fill": (["--data", "sines", "--fill", "zero"], ["--fill"]),
    }
    for name, (args, words) in cases.items():
        out = tmp_path / f"o-{name}"
        code, _, err = cli("train", "series", *args, "--out", out, "--steps", 3, "--quiet")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("fewgan: error:"), (name, err)
        assert all(w in err for w in words), (name, err)
        assert not out.exists(), name
    code, _, err = cli("train", "image", "--seq-len", "8", "--out", tmp_path / "img", "--steps", 3)
    assert code == 2 and "--seq-len is a series flag" in err and len(err.strip().splitlines()) == 1


# -- metrics: each could fail if the scores were wrong ---------------------------------------------
@pytest.fixture(scope="module")
def sine_windows():
    return torch.from_numpy(sines(1200, 24, 5, seed=1)).float()


def test_discriminative_real_vs_real_near_zero_and_vs_noise_near_half(sine_windows):
    torch.set_num_threads(1)
    a, b = sine_windows[:600], sine_windows[600:]
    same = discriminative(a, b, iters=500, repeats=2)
    assert same["discriminative"] < 0.07, same
    noise = discriminative(a, torch.rand_like(b), iters=500, repeats=2)
    assert noise["discriminative"] > 0.4, noise
    assert set(same) == {"discriminative", "discriminative_std"}


def test_predictive_is_lower_when_trained_on_real_than_on_noise(sine_windows):
    torch.set_num_threads(1)
    real = predictive(sine_windows, sine_windows, iters=300, repeats=1)
    noise = predictive(sine_windows, torch.rand_like(sine_windows), iters=300, repeats=1)
    assert real["predictive"] < 0.5 * noise["predictive"], (real, noise)


# -- CLI end to end, resume, API ------------------------------------------------------------------
@pytest.mark.parametrize("model", ["rgan", "returns", "timegan"])
def test_cli_train_sample_evaluate_report(tmp_path, cli, model):
    run = tmp_path / "r"
    # returns: fewer steps, one preview and one evaluation repeat (the shared paths run in rgan's case)
    steps, repeats = (12, 1) if model == "returns" else (30, 2)
    every = ["--sample-every", "12", "--ckpt-every", "12", "--log-every", "4"] if model == "returns" else []
    code, out, _ = cli("train", "series", "--data", "sines", "--out", run, "--steps", steps, *TINY_S, *every,
                       "--model", model, "--disc-iters", "20", "--pred-iters", "20", "--eval-repeats", repeats)
    assert code == 0
    ck = load_checkpoint(run / "checkpoint.pt")
    cfg = json.loads((run / "config.json").read_text())
    assert ck["step"] == steps and cfg["options"]["model"] == model
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    if model == "timegan":
        assert {"opt_E", "opt_G", "opt_D"} <= set(ck)
        assert "loss/AE" in rows[0] and "loss/D" in rows[-1] and "loss/moments" in rows[-1]
    else:
        assert {"opt_G", "opt_D"} <= set(ck) and "opt_E" not in ck
        assert cfg["engine"]["loss"] == "ns" and cfg["engine"]["r1_gamma"] == {"rgan": 0.003, "returns": 1e-4}[model]
        assert "loss/D" in rows[-1] and any("loss/R1" in r for r in rows)
    assert cli("sample", run, "-n", 7, "--out", tmp_path / "s.csv")[0] == 0
    df = pd.read_csv(tmp_path / "s.csv")
    assert list(df.columns) == ["window", "t", "sine0", "sine1", "sine2", "sine3", "sine4"]
    assert len(df) == 7 * 8 and df["window"].nunique() == 7
    assert cli("sample", run, "-n", 3, "--out", tmp_path / "s.npy", "--length", 50)[0] == 0
    assert np.load(tmp_path / "s.npy").shape == (3, 50, 5)
    code, _, err = cli("sample", run, "-n", 3, "--out", tmp_path / "s.png")
    assert code == 2 and ".csv or .npy" in err
    code, out, _ = cli("evaluate", run, "--json", "--n", 200)
    res = json.loads(out)
    assert code == 0
    for k in ("discriminative", "predictive", "discriminative_std", "predictive_std", "kurtosis_gap"):
        assert np.isfinite(res[k]), k
    assert 0 <= res["discriminative"] <= 0.5 and res["repeats"] == repeats
    code, out, _ = cli("report", run)
    html = (run / "report.html").read_text()
    assert code == 0 and "PCA of real vs synthetic" in html and "discriminative" in html and 'src="http' not in html


@pytest.mark.parametrize("model", ["rgan", "returns", "timegan"])
def test_series_resume_is_bitwise_exact(tmp_path, cli, model):
    common = ["--data", "sines", "--deterministic", "--seed", "3", *TINY_S, "--model", model]
    if model == "timegan":
        common += ["--ae-steps", "6", "--sup-steps", "6"]
    if model == "returns":      # a long series, and critic windows longer than the scored ones
        _walk(150).abs().to_csv(tmp_path / "walk.csv", index=False)
        common[1] = tmp_path / "walk.csv"
        common += ["--train-len", "12", "--tail", "gpd", "--critic-lags", "3", "--disc-iters", "20", "--pred-iters", "20",
                   "--sample-every", "12"]
    assert cli("train", "series", "--out", tmp_path / "straight", "--steps", 24, *common)[0] == 0
    assert cli("train", "series", "--out", tmp_path / "split", "--steps", 12, *common)[0] == 0
    before = tree_digest(tmp_path / "split")
    code, _, err = cli("train", "--resume", tmp_path / "split", "--steps", 24, "--seq-len", "9")
    assert code == 2 and tree_digest(tmp_path / "split") == before
    assert cli("train", "--resume", tmp_path / "split", "--steps", 24, "--quiet")[0] == 0
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["step"] == 24
    assert_same_checkpoint(tmp_path / "straight" / "checkpoint.pt", tmp_path / "split" / "checkpoint.pt")


def test_api_fit_dataframe_sample_path_save_load(tmp_path):
    df = _walk(120)
    gan = SeriesGAN(seq_len=8, hidden=4, layers=2, batch=16, z_dim=4, steps=9).fit(df)
    s = gan.sample(5)
    assert s.shape == (5, 8, 3) and np.isfinite(s).all()
    lo, hi = df.min().to_numpy(), df.max().to_numpy()
    assert (s >= lo - 1e-6).all() and (s <= hi + 1e-6).all()        # sigmoid output decodes into the data range
    p = gan.sample_path(200, n=2)
    assert p.shape == (2, 200, 3)
    again = SeriesGAN.load(gan.save(tmp_path / "m.pt"))
    assert np.array_equal(again.sample(4, seed=2), gan.sample(4, seed=2))
    with pytest.raises(UsageError):
        SeriesGAN(seq_len=8, steps=2).fit(np.zeros((5, 2)))


# -- the returns model (--model returns) ---------------------------------------------------------
def _heavy_prices(n=3000, seed=0):
    """Two price columns with Student-t(3) log returns (excess kurtosis large) and one volume-like column."""
    rng = np.random.default_rng(seed)
    r = rng.standard_t(3, (n, 3)) * [0.01, 0.012, 0.2]
    return pd.DataFrame(100 * np.exp(np.cumsum(r, 0)), columns=["a", "b", "vol"])


def test_returns_transform_round_trips_and_gives_the_data_its_tails():
    from fewgan.metrics.series_risk import excess_kurtosis
    from fewgan.modalities.series.returns import ReturnsGenerator
    df = _heavy_prices()
    cfg = TrainConfig.build("series", data=df, model="returns", seq_len=8)
    prep = get_modality("series").prepare(cfg)
    codec = prep.codec
    tf = codec.make_transform()
    r = tf.returns(prep.x)                                                        # (N, 7, 3)
    assert torch.allclose(r[:, 0].double(), torch.from_numpy(np.diff(np.log(df.to_numpy()), axis=0)[:len(r)]),
                          atol=1e-5)
    assert torch.allclose(tf.levels(prep.x[:, 0], r), prep.x, atol=1e-5)           # levels <-> returns
    u = tf.to_gauss(r)
    assert torch.allclose(tf.from_gauss(u), r, atol=1e-6, rtol=1e-4)              # returns <-> scores
    grid = torch.linspace(-3, 3, 101)[:, None].expand(-1, 3).contiguous()
    assert torch.allclose(tf.to_gauss(tf.from_gauss(grid)), grid, atol=1e-4)
    assert abs(u.flatten(0, 1).mean(0)).max() < 0.05 and (u.flatten(0, 1).std(0) - 1).abs().max() < 0.05
    # beyond the sample the map is clamped: no return larger than the largest real one
    far = tf.from_gauss(torch.full((1, 3), 9.0))
    assert torch.allclose(far, r.flatten(0, 1).max(0).values, rtol=1e-4)
    # --tail gpd: a Pareto tail per side past the 5% quantiles; Student-t(3) has tail index 1/3
    from fewgan.modalities.series.returns import XI_MAX
    gpd = get_modality("series").prepare(TrainConfig.build("series", data=df, model="returns", seq_len=8,
                                                           tail="gpd")).codec.make_transform()
    xi = gpd.tail[[0, 3]]
    assert ((xi > 0.15) & (xi <= XI_MAX + 1e-6)).all(), xi
    wide = torch.linspace(-6, 6, 241)[:, None].expand(-1, 3).contiguous()
    assert torch.allclose(gpd.to_gauss(gpd.from_gauss(wide)), wide, atol=1e-3)
    assert torch.allclose(gpd.from_gauss(gpd.to_gauss(r)), r, atol=1e-6, rtol=1e-4)
    edge = gpd.grid[-1] * torch.tensor([[-1.0], [1.0]]).expand(-1, 3)          # continuous at the grid's ends
    step = gpd.from_gauss(edge + torch.tensor([[-1e-4], [1e-4]])) - gpd.from_gauss(edge)
    assert step.abs().max() < 1e-3 * r.abs().max()
    beyond = gpd.from_gauss(torch.tensor([[-5.0] * 3, [5.0] * 3]))              # past the sample, both sides
    assert (beyond[1] > r.flatten(0, 1).max(0).values).all() and (beyond[0] < r.flatten(0, 1).min(0).values).all()
    # Gaussian scores in -> the data's heavy tails out
    g = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0))
    k_fake = excess_kurtosis(tf.from_gauss(g)[None].double().numpy())
    k_real = excess_kurtosis(np.diff(np.log(df.to_numpy()), axis=0)[None])
    assert (k_real > 5).all() and np.allclose(k_fake, k_real, rtol=0.35), (k_fake, k_real)
    # G: a start day of the data, the receptive field as warm-up noise, any path length
    G = ReturnsGenerator(codec, z_dim=4, hidden=8, layers=3)
    assert codec.warmup == 2 ** 7 - 1 and G.warmup == 7
    codec.warmup = G.warmup
    z = torch.randn(5, *codec.noise_shape(4, 40))
    x = G(z)
    assert x.shape == (5, 40, 3) and torch.isfinite(x).all()
    starts = prep.x[:, 0]
    assert all((starts == x[i, 0]).all(1).any() for i in range(5))
    assert (codec.decode(x) > 0).all()                                            # prices stay positive
    # --critic-lags: the window's lagged products, as written out by hand
    from fewgan.modalities.series.returns import ReturnsCritic
    codec.train_len = 8
    D = ReturnsCritic(codec, hidden=8, lags=2)
    u = torch.randn(2, 7, 3)
    lag = D.lagged(u).view(2, 4, 3)
    a = u.abs() - (2 / np.pi) ** 0.5
    for j, (v, k) in enumerate([(u, 1), (u, 2), (a, 1), (a, 2)]):
        want = sum(v[:, t] * v[:, t - k] for t in range(k, 7)) / (7 - k) ** 0.5
        assert torch.allclose(lag[:, j], want, atol=1e-6), (j, k)
    assert D(x[:, :8]).shape == (5,) and ReturnsCritic(codec, 8).lagged(u).shape == (2, 0)
    assert G(torch.randn(2, *codec.noise_shape(4, 1))).shape == (2, 1, 3)


def test_fact_penalty_matches_the_risk_checks_and_prefers_the_real_windows():
    """--fact-loss: its torch statistics are the risk checks' (metrics/series_risk.py), it is near
    zero on the real windows and larger on an untrained G's, and its gradient reaches G."""
    from fewgan.metrics.series_risk import acf, leverage_lags
    from fewgan.modalities.series.returns import ReturnsGenerator, _acf_t, _leverage_t
    r = torch.from_numpy(np.random.default_rng(1).standard_t(4, (16, 30, 2)))
    assert np.allclose(_acf_t(r, 20).numpy(), acf(r.numpy()), atol=1e-12)
    assert np.allclose(_acf_t(r.abs(), 5).numpy(), acf(np.abs(r.numpy()), 5), atol=1e-12)
    assert np.allclose(_leverage_t(r, 10).numpy(), leverage_lags(r.numpy()), atol=1e-12)
    df = _heavy_prices()
    cfg = TrainConfig.build("series", data=df, model="returns", seq_len=24)
    prep = get_modality("series").prepare(cfg)
    codec = prep.codec
    assert codec.facts["acf"].shape == (20, 3) and codec.facts["leverage"].shape == (10, 3)
    real = codec.fact_penalty(prep.x[torch.randperm(len(prep.x), generator=torch.Generator().manual_seed(0))[:256]])
    G = ReturnsGenerator(codec, z_dim=4, hidden=8, layers=3)
    codec.warmup = G.warmup
    fake = G(torch.randn(256, *codec.noise_shape(4), generator=torch.Generator().manual_seed(0)))
    pen = codec.fact_penalty(fake)
    assert real < 0.02 and pen > 3 * real, (real, pen)
    pen.backward()
    assert G.head.weight.grad.abs().sum() > 0
    # the codec's statistics round-trip through its state, and a codec without them refuses
    again = get_modality("series").codec_from_state(codec.state_dict())
    assert torch.equal(again.facts["acf_abs"], codec.facts["acf_abs"])
    again.facts = None
    with pytest.raises(UsageError, match="--fact-loss"):
        again.fact_penalty(fake)


def test_leverage_penalty_is_the_risk_checks_statistic_estimated_from_two_half_batches():
    """--leverage-loss: the real target is the risk checks' leverage of the real returns; the
    penalty is (a - t)(b - t) of the batch's two halves (a doubled batch gives the plain square);
    across batches of the real windows it averages near zero, where the plain square of one
    batch's estimate does not (the variance it would reward G for removing); its gradient reaches
    G, and a codec without the target refuses in one line."""
    from fewgan.metrics.series_risk import leverage, log_mask, real_paths, to_returns
    from fewgan.modalities.series.returns import ReturnsGenerator, _leverage_t
    df = _heavy_prices()
    prep = get_modality("series").prepare(TrainConfig.build("series", data=df, model="returns", seq_len=24))
    codec = prep.codec
    paths = real_paths(codec.decode(prep.x))
    t = codec.facts["leverage_r"]
    assert t.shape == (3,) and np.allclose(t.numpy(), leverage(to_returns(paths, log_mask(paths))), atol=1e-6)
    tf = codec.make_transform()
    g = torch.Generator().manual_seed(0)
    split, square = [], []
    for _ in range(200):
        x = prep.x[torch.randint(len(prep.x), (128,), generator=g)]
        split.append(float(codec.leverage_penalty(x)))
        square.append(float((_leverage_t(tf.returns(x), 10).mean(0) - t).square().mean()))
        x2 = torch.cat([x[:64], x[:64]])
        plain = (_leverage_t(tf.returns(x[:64]), 10).mean(0) - t).square().mean()
        assert torch.allclose(codec.leverage_penalty(x2), plain, rtol=1e-4, atol=1e-9)
    se = np.std(split) / np.sqrt(len(split))
    assert abs(np.mean(split)) < 3 * se and np.mean(square) > 10 * se, (np.mean(split), se, np.mean(square))
    G = ReturnsGenerator(codec, z_dim=4, hidden=8, layers=3)
    codec.warmup = G.warmup
    pen = codec.leverage_penalty(G(torch.randn(128, *codec.noise_shape(4), generator=g)))
    pen.backward()
    assert G.head.weight.grad.abs().sum() > 0
    again = get_modality("series").codec_from_state(codec.state_dict())
    assert torch.equal(again.facts["leverage_r"], t)
    del again.facts["leverage_r"]
    with pytest.raises(UsageError, match="--leverage-loss"):
        again.leverage_penalty(prep.x[:8])


def test_calibrate_gives_sampled_scores_the_normal_law_and_is_dropped_when_weights_change():
    """--model returns, calibrate: a G whose scores are planted too thin (innovations x 0.5) samples
    returns with thin tails uncalibrated; calibrated, its scores are N(0, 1) and so the returns have
    the data's law. The map is deterministic, never in the state dict, and dropped by training mode."""
    from fewgan.modalities.series.returns import ReturnsGenerator
    df = _heavy_prices()
    prep = get_modality("series").prepare(TrainConfig.build("series", data=df, model="returns", seq_len=8))
    codec = prep.codec
    tf = codec.make_transform()
    torch.manual_seed(0)
    plain, cal = (ReturnsGenerator(codec, z_dim=4, hidden=8, layers=3, calibrate=c) for c in (False, True))
    codec.warmup = plain.warmup
    with torch.no_grad():
        plain.mix.weight.mul_(0.5 / plain.mix.weight.norm(dim=1, keepdim=True))   # |W row| = 0.5: u ~ N(mu, 0.25)
        plain.head.weight.zero_()
        plain.head.bias.zero_()
    cal.load_state_dict(plain.state_dict())
    assert "cal_knots" not in cal.state_dict() and "cal_on" not in cal.state_dict()
    z = torch.randn(400, *codec.noise_shape(4, 60), generator=torch.Generator().manual_seed(1))
    plain.eval(), cal.eval()
    with torch.no_grad():
        u_plain, u_cal = (tf.to_gauss(tf.returns(G(z))).flatten(0, 1) for G in (plain, cal))
    assert ((u_plain.std(0) - 0.5).abs() < 0.05).all(), u_plain.std(0)
    assert ((u_cal.std(0) - 1).abs() < 0.05).all() and (u_cal.mean(0).abs() < 0.05).all(), u_cal.std(0)
    q = torch.tensor([0.001, 0.01, 0.99, 0.999])
    want = torch.special.ndtri(q)[:, None]
    assert (torch.quantile(u_cal, q, dim=0) - want).abs().max() < 0.15
    assert (torch.quantile(u_plain, q, dim=0) - want).abs().max() > 1.0
    # the same map every time, measured once; training mode drops it, the next eval measures it again
    assert bool(cal.cal_on)
    knots = cal.cal_knots.clone()
    with torch.no_grad():
        again = cal(z[:8])
        cal.train()
        cal(z[:8])
        assert not bool(cal.cal_on)
        cal.eval()
        assert torch.equal(cal(z[:8]), again) and torch.equal(cal.cal_knots, knots)
