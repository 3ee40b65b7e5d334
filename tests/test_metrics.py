"""Metric correctness on known distributions and hand-built cases."""
import numpy as np
import pytest

from fewgan.errors import UsageError
from fewgan.metrics import METRICS, load_all, parse_until
from fewgan.metrics.distribution import fd, frechet_distance, kid, mmd2_unbiased_poly, prdc
from fewgan.metrics.memorization import memorization

load_all()


def test_fd_same_gaussian_is_near_zero():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20000, 8)), rng.normal(size=(20000, 8))
    assert fd(a, b)["fd"] < 0.01


def test_fd_matches_closed_form():
    # N(mu1, diag s1) vs N(mu2, diag s2): |mu1-mu2|^2 + sum (sqrt s1 - sqrt s2)^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    closed = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(closed, rel=1e-10)
    # and a non-diagonal pair against the textbook formula via scipy's sqrtm
    from scipy.linalg import sqrtm
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    S1, S2 = A @ A.T + np.eye(4), B @ B.T + np.eye(4)
    ref = np.trace(S1 + S2 - 2 * np.real(sqrtm(S1 @ S2)))
    assert frechet_distance(np.zeros(4), S1, np.zeros(4), S2) == pytest.approx(ref, rel=1e-8)
    # sampled: large samples approach the closed form
    x = rng.normal(mu1, np.sqrt(s1), size=(50000, 3))
    y = rng.normal(mu2, np.sqrt(s2), size=(50000, 3))
    assert fd(x, y)["fd"] == pytest.approx(closed, rel=0.03)


def test_kid_unbiased_on_identical_distributions():
    rng = np.random.default_rng(0)
    vals = [mmd2_unbiased_poly(rng.normal(size=(200, 16)), rng.normal(size=(200, 16))) for _ in range(200)]
    # unbiased: the mean over many draws is ~0 (a biased estimator would sit clearly above 0)
    assert abs(np.mean(vals)) < 3 * np.std(vals) / np.sqrt(len(vals))
    shifted = kid(rng.normal(size=(500, 16)), rng.normal(0.5, 1, size=(500, 16)), n_subsets=5)["kid"]
    same = kid(rng.normal(size=(500, 16)), rng.normal(size=(500, 16)), n_subsets=5)["kid"]
    assert shifted > 10 * abs(same)


def test_prdc_hand_built():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 2))
    same = prdc(real, rng.normal(size=(500, 2)))
    assert same["precision"] > 0.9 and same["recall"] > 0.9 and same["coverage"] > 0.9
    assert 0.7 < same["density"] < 1.3
    far = prdc(real, rng.normal(size=(500, 2)) + 100)
    assert far["precision"] == 0 and far["coverage"] == 0 and far["density"] == 0 and far["recall"] == 0
    # mode collapse: every fake sits on one real point -> full precision, tiny coverage/recall
    collapsed = prdc(real, np.repeat(real[:1], 500, 0) + 1e-6 * rng.normal(size=(500, 2)))
    assert collapsed["precision"] == 1.0 and collapsed["coverage"] < 0.05 and collapsed["recall"] < 0.05


def test_prdc_exact_small_case():
    # 1-d reals 0..9, k=1: each real ball has radius 1. Fakes at 0.5 and 100.
    real = np.arange(10.0)[:, None]
    fake = np.array([[0.5], [100.0], [100.5]])
    out = prdc(real, fake, k=1)
    assert out["precision"] == pytest.approx(1 / 3)           # only 0.5 is inside a real ball
    assert out["coverage"] == pytest.approx(2 / 10)           # balls of 0 and 1 contain 0.5
    assert out["density"] == pytest.approx(2 / 3)             # 0.5 sits in 2 balls, others in 0; / k=1 / 3 fakes


def test_memorization_flags_copies_not_fresh_samples():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 64)).astype(np.float32)
    fresh = rng.normal(size=(300, 64)).astype(np.float32)
    copies = train[:60] + 0.01 * rng.normal(size=(60, 64)).astype(np.float32)
    assert memorization(train, fresh)["memorization"] == 0.0
    mixed = memorization(train, np.concatenate([fresh[:240], copies]))
    assert mixed["memorization"] == pytest.approx(0.2)


def test_registry_goals_and_until():
    assert METRICS.key("fd").goal == "min" and METRICS.key("coverage").goal == "max"
    assert METRICS.better("fd", 1.0, 2.0) and not METRICS.better("coverage", 0.1, 0.2)
    u = parse_until("fd<=30")
    assert u.met({"fd": 29.0}) and not u.met({"fd": 31.0}) and not u.met({})
    assert parse_until(" coverage >= 0.8 ").met({"coverage": 0.9})
    for bad in ("fd=30", "nope<=1", "fd<=x", ""):
        with pytest.raises(UsageError):
            parse_until(bad)


def test_verdicts_compare_at_equal_sample_sizes():
    """A planted, known-worse generator (real digits + noise) must get a worse FD verdict than
    real-vs-real; a generator that draws real digits must not be called worse than real."""
    import torch

    from fewgan.config import TrainConfig
    from fewgan.metrics.image_eval import ImageEvaluator, verdicts
    from fewgan.modalities import get_modality
    prep = get_modality("image").prepare(TrainConfig.build("image", data="digits", res=16))
    x = prep.x
    ev = ImageEvaluator(x, None, x, 0, prep.fingerprint, "random", None, None, None, seed=0)

    def real_draws(n, labels, seed):             # "perfect" G: real images, fresh draws
        g = torch.Generator().manual_seed(seed)
        return x[torch.randint(len(x), (n,), generator=g)]

    def noisy(n, labels, seed):                  # worse G: the same images with pixel noise
        g = torch.Generator().manual_seed(seed)
        return (real_draws(n, labels, seed) + 0.1 * torch.randn(n, *x.shape[1:], generator=g)).clamp(-1, 1)

    good, bad = ev.evaluate(real_draws), ev.evaluate(noisy)
    base, noise = good["real_baseline_fd_eq"], good["real_baseline_fd_eq_noise"]
    # the flattering comparison this replaces: N fakes vs N/2-vs-N/2 reals puts the worse G *below* real
    assert bad["fd"] < bad["real_baseline_fd"]
    assert bad["fd_eq"] > base + 2 * noise and bad["fd_eq"] > good["fd_eq"]
    say = dict(verdicts(bad))
    assert "close to real" not in say["fd"] and "as close to real data as real data" not in say["fd"]
    assert "above real-vs-real" in say["kid"]
    assert "as close to real data as real data is to itself" in dict(verdicts(good))["fd"]
