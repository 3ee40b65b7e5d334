"""Text modality: data reading and its bad inputs, the codec, the nets, the metrics (BLEU against
nltk, the oracle floor), sampling with a temperature and a prefix, the API, and --adv-steps 0."""
import json
import random

import pytest
import torch

from fewgan.modalities.text.bleu import bleu, self_bleu
from fewgan.modalities.text.data import TextCodec, names_lines, split_heldout
from fewgan.modalities.text.metrics import length_distance, novelty, reverse_lm_nll, wasserstein_1d
from fewgan.modalities.text.nets import TextDiscriminator, TextGenerator
from fewgan.modalities.text.report import nearest

TINY = ["--batch", "8", "--hidden", "8", "--embed", "4", "--d-channels", "4", "--eval-n", "20",
        "--reverse-lm-steps", "3", "--log-every", "2", "--sample-every", "4", "--ckpt-every", "4", "--quiet"]


def test_bleu_and_self_bleu_match_nltk_method1():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    sm = SmoothingFunction().method1
    rnd = random.Random(0)
    cases = [([list("mary"), list("maria")], [list("marie"), list("mar"), list("m"), list("")]),
             ([["the", "cat", "sat"], ["a", "cat", "sat", "down"]], [["the", "cat", "sat", "down"], ["cat"]])]
    for _ in range(30):
        refs = [[rnd.choice("abcd") for _ in range(rnd.randint(0, 9))] for _ in range(rnd.randint(1, 6))]
        cases.append((refs, [[rnd.choice("abcd") for _ in range(rnd.randint(0, 9))] for _ in range(rnd.randint(2, 6))]))
    for refs, hyps in cases:
        for n in (2, 3, 4):
            w = (1 / n,) * n
            want = sum(sentence_bleu(refs, h, w, smoothing_function=sm) for h in hyps) / len(hyps)
            assert abs(bleu(hyps, refs, n) - want) < 1e-6
            want = sum(sentence_bleu(hyps[:i] + hyps[i + 1:], h, w, smoothing_function=sm)
                       for i, h in enumerate(hyps)) / len(hyps)
            assert abs(self_bleu(hyps, n) - want) < 1e-6


def test_line_metrics_on_known_cases():
    r = novelty(["Ann", "Bo"], ["Ann", "Cy", "Cy", "Dee"], train={"Dee", "Ed"})
    assert r == {"novelty": 0.75, "copy_share": 0.25, "uniqueness": 0.75, "heldout_hits": 0.25}
    assert wasserstein_1d([1, 2, 3], [1, 2, 3]) == 0 and abs(wasserstein_1d([0, 0], [2, 2]) - 2) < 1e-12
    assert length_distance([list("ab")], [list("abcd")])["length_w1"] == 2
    arr = torch.tensor([[0, 1, 2, -1], [0, 1, 2, 3]]).numpy()
    assert nearest([0, 1, 3], arr, torch.tensor([3, 4]).numpy()) in ((0, 1), (1, 1))
    assert nearest([0, 1, 2, 3], arr, torch.tensor([3, 4]).numpy()) == (1, 0)


def test_codec_round_trip_and_heldout_split():
    lines = ["the cat", "the dog", "a cat", "the cat"]
    c = TextCodec.fit(lines, "word", 3, min_count=2)
    assert c.vocab == ["<eos>", "<unk>", "cat", "the"]
    assert c.decode(c.encode(lines)) == ["the cat", "the <unk>", "<unk> cat", "the cat"]
    ch = TextCodec.fit(["Émile", "Zoë"], "char", 5)
    assert ch.decode(ch.encode(["Émile", "Zoë"])) == ["Émile", "Zoë"] and ch.seq_len == 6
    train, held = split_heldout(lines, 0.4, 0)
    assert not set(train) & set(held) and sorted(train + held) == sorted(lines)
    names = names_lines()
    assert len(names) > 5000 and "Mary" in names and len(set(names)) == len(names)


def test_nets_forward_backward_and_sampling_rules():
    torch.manual_seed(0)
    G, D = TextGenerator(7, 6, 8, 4), TextDiscriminator(7, 6, 4, 4)
    soft, hard = G.relaxed(5, 3.0, "cpu")
    assert soft.shape == (5, 6, 7) and hard.shape == (5, 6) and (hard[:, -1] == 0).all()
    D(soft).sum().backward()
    assert all(p.grad is not None for p in G.parameters())
    z = torch.randn(50, 6)
    a, b = G.sample(z, 1.0), G.sample(z, 1.0)
    assert torch.equal(a, b), "a fixed noise is a fixed set of lines"
    forced = torch.full((50, 6), -1)
    forced[:, :2] = torch.tensor([3, 4])
    s = G.sample(z, 0.5, forced)
    assert (s[:, :2] == torch.tensor([3, 4])).all()
    ended = torch.cumsum((s == 0).long(), 1) > 0
    assert (s[ended] == 0).all(), "EOS pads the rest of a line"


def test_oracle_floor():
    """The oracle's own NLL is the floor of nll_test: a model fitted on oracle lines scores held-out
    oracle lines above the oracle's entropy, and the oracle's NLL of its own samples estimates it."""
    from fewgan.modalities.text.oracle import OracleLM, oracle_lines
    o = OracleLM()
    lines = oracle_lines(400)
    assert len(lines) == 400 and all(len(s) == 20 for s in lines) and lines == oracle_lines(400)
    codec = TextCodec.fit(lines, "char", 20)
    ids = codec.encode(lines).long()
    floor = o.nll_of_lines(lines[300:])
    fitted = reverse_lm_nll(ids[:300], ids[300:], codec.n_vocab, 40)     # counts EOS too: a lower bound for it
    assert 0.5 < floor < 1.5
    assert fitted * 21 / 20 > floor       # per symbol (the fitted LM's EOS is near free), above the floor
    assert abs(o.nll_of_lines(lines[:200]) - o.nll_of_lines(lines[200:])) < 0.15


@pytest.mark.parametrize("content,why", [
    (b"", "no non-blank lines"), (b"\n  \n", "no non-blank lines"), (b"Anna\n", "one line"),
    (b"Bo\nBo\nBo\n", "repeated"), (b"Ann\nJos\xe9\n", "byte offset 7"), (b"A\x00B\nC\n", "binary")])
def test_bad_input_one_line_exit_2_nothing_written(content, why, cli, tmp_path):
    f = tmp_path / "in.txt"
    f.write_bytes(content)
    out = tmp_path / "run"
    code, _, err = cli("train", "text", "--data", f, "--out", out, "--steps", 2, *TINY)
    assert code == 2 and len(err.strip().splitlines()) == 1 and why in err, err
    assert not out.exists()


def test_long_line_refused_or_truncated(cli, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("Ann\nBob\nCharlotte\nDee\n")
    code, _, err = cli("train", "text", "--data", f, "--out", tmp_path / "r", "--max-len", 5, "--steps", 2, *TINY)
    assert code == 2 and "--truncate" in err and not (tmp_path / "r").exists()
    code, _, err = cli("train", "text", "--data", f, "--out", tmp_path / "r", "--max-len", 5, "--truncate",
                       "--steps", 2, *TINY)
    assert code == 0, err


def test_mle_only_sample_prefix_evaluate(cli, tmp_path):
    """--adv-steps 0 is the plain MLE model (no D update ever); sampling with a temperature and a
    prefix; a prefix outside the vocabulary is refused and writes nothing."""
    run = tmp_path / "mle"
    code, _, err = cli("train", "text", "--data", "names", "--out", run, "--mle-steps", 6, "--adv-steps", 0, *TINY)
    assert code == 0, err
    rows = [json.loads(s) for s in (run / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 6 and all("loss/D" not in r for r in rows) and "loss/MLE" in rows[-1]
    out = tmp_path / "s.txt"
    code, _, err = cli("sample", run, "-n", 30, "--out", out, "--temperature", 0.7, "--prefix", "Ma")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert code == 0 and len(lines) == 30 and all(s.startswith("Ma") for s in lines), err
    bad = tmp_path / "bad.txt"
    code, _, err = cli("sample", run, "-n", 3, "--out", bad, "--prefix", "M#")
    assert code == 2 and "'#'" in err and len(err.strip().splitlines()) == 1 and not bad.exists()
    code, _, err = cli("sample", run, "-n", 3, "--out", bad, "--temperature", 0)
    assert code == 2 and not bad.exists()
    code, out_json, _ = cli("evaluate", run, "--json")
    res = json.loads(out_json)
    for k in ("bleu4", "self_bleu4", "novelty", "heldout_hits", "reverse_lm_nll", "nll_test", "uniqueness",
              "copy_share", "length_w1", "bleu2", "self_bleu3"):
        assert isinstance(res[k], float), k
    assert "nll_oracle" not in res


def test_api_fit_list_and_sample(tmp_path):
    from fewgan import TextGAN
    lines = ["alpha beta", "beta gamma", "gamma alpha", "alpha alpha", "beta beta"] * 4
    gan = TextGAN(tokens="word", steps=4, batch=4, hidden=8, embed=4, d_channels=4, threads=1).fit(lines)
    out = gan.sample(7, temperature=0.8)
    assert len(out) == 7 and all(isinstance(s, str) for s in out)
    assert all(w in {"alpha", "beta", "gamma", "<unk>"} for s in out for w in s.split())
    assert gan.config.options.mle_steps == 3 and gan.config.options.adv_steps == 1
    path = gan.save(tmp_path / "m.pt")
    assert TextGAN.load(path).sample(7, temperature=0.8) == out


def test_oracle_run_reports_nll_oracle(cli, tmp_path):
    run = tmp_path / "o"
    assert cli("train", "text", "--data", "oracle", "--out", run, "--mle-steps", 2, "--adv-steps", 2, *TINY)[0] == 0
    code, out, _ = cli("evaluate", run, "--json")
    res = json.loads(out)
    assert code == 0 and res["nll_oracle"] > 0 and res["real_baseline_nll_oracle"] < res["nll_oracle"]


def test_dropout_acts_only_on_teacher_forcing_in_training_mode():
    """--dropout: G's teacher-forced logits are perturbed in training mode only (G_ema and the
    metrics run in eval mode), and p = 0 draws no random numbers (runs without it keep their streams)."""
    torch.manual_seed(0)
    ids = torch.randint(1, 10, (4, 6))
    G = TextGenerator(10, 6, hidden=16, embed=8, dropout=0.5).train()
    a, b = G.logits(ids), G.logits(ids)
    assert not torch.equal(a, b)
    G.eval()
    assert torch.equal(G.logits(ids), G.logits(ids))
    plain = TextGenerator(10, 6, hidden=16, embed=8, dropout=0.0).train()
    state = torch.get_rng_state()
    plain.logits(ids)
    assert torch.equal(state, torch.get_rng_state())


def test_nll_at_a_temperature_is_the_distribution_sample_draws_from():
    """nll_test_temp scores held-out lines under softmax(logits / T), the distribution `sample` draws
    from (checked here by sampling: the empirical frequencies of a one-step G match it)."""
    torch.manual_seed(0)
    G = TextGenerator(5, 2, hidden=8, embed=4).eval()
    ids = torch.tensor([[3, 0], [1, 0], [4, 0]])
    logits = G.logits(ids)
    for t in (0.5, 1.0, 2.0):
        lp = torch.log_softmax(logits / t, -1).gather(-1, ids[..., None])[..., 0]
        assert torch.allclose(G.nll(ids, t)[0], -lp.sum(1), atol=1e-6)
    p = torch.softmax(logits[0, 0] / 0.5, -1)                                # the first token's law at T 0.5
    first = G.sample(torch.randn(20000, 2), 0.5)[:, 0]
    freq = torch.bincount(first, minlength=5).float() / 20000
    assert (freq - p).abs().max() < 0.015
    assert not torch.allclose(G.nll(ids, 0.5)[0], G.nll(ids, 1.0)[0])


def _adversarial_G(tmp_path, name, d_lr, **opts):
    from fewgan import TextGAN
    lines = ["anna", "bob", "carl", "dora", "emil", "fay", "gus", "hal"] * 3
    gan = TextGAN(mle_steps=2, adv_steps=3, batch=4, hidden=8, embed=4, d_channels=4, threads=1, seed=0,
                  d_lr=d_lr, eval_n=10, reverse_lm_steps=2, **opts).fit(lines, out=tmp_path / name)
    return gan._state["G"]


def test_adv_weight_zero_takes_no_signal_from_D_and_mle_weight_is_a_loss_term(tmp_path):
    """--adv-weight 0 (--mle-weight 1, the default): the adversarial steps are MLE steps at the
    adversarial optimiser (G does not depend on how D was trained); with the default --adv-weight 1
    it does, and --mle-weight 0 (the adversarial loss alone) gives another G."""
    def same(a, b):
        return all(torch.equal(a[k], b[k]) for k in a)
    ctl = [_adversarial_G(tmp_path, f"c{i}", lr, mle_weight=1.0, adv_weight=0.0) for i, lr in enumerate((1e-4, 1e-2))]
    assert same(*ctl)
    adv = [_adversarial_G(tmp_path, f"a{i}", lr, mle_weight=1.0) for i, lr in enumerate((1e-4, 1e-2))]
    assert not same(*adv)
    assert not same(adv[0], _adversarial_G(tmp_path, "plain", 1e-4, mle_weight=0.0))


def test_straight_through_hands_D_hard_tokens_with_the_relaxations_gradient():
    """Straight-through (the default): D's input is exactly the one-hot of the hard tokens (no softness for D to
    tell fake from real by), and G still gets a gradient; the same noise gives the same tokens."""
    G = TextGenerator(7, 6, 8, 4)
    torch.manual_seed(0)
    soft, hard = G.relaxed(5, 1.0, "cpu")
    torch.manual_seed(0)
    st, hard_st = G.relaxed(5, 1.0, "cpu", straight_through=True)
    assert torch.equal(hard, hard_st)
    assert torch.equal(st, torch.nn.functional.one_hot(hard_st, 7).float())
    assert soft.max(-1).values.min() < 0.99, "at beta 1 the plain relaxation is soft"
    (st * torch.randn_like(st)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (G.out.weight, G.rnn.weight_hh_l0))


def test_adv_weight_zero_without_mle_weight_is_refused(cli, tmp_path):
    code, _, err = cli("train", "text", "--data", "names", "--out", tmp_path / "r", "--adv-weight", 0,
                       "--mle-weight", 0, *TINY)
    assert code == 2 and "--mle-weight" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
