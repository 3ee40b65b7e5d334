"""Text metrics (offline), registered in the shared metric registry.

Samples are drawn from G_ema at --eval-temperature (default 1); held-out lines are the distinct
lines split off before training (data.split_heldout), so G never saw them.

- bleu2..4        mean sentence BLEU of each sample against all held-out lines (quality; bleu.py)
- self_bleu2..4   mean BLEU of each sample against the other samples (higher = less diverse)
- novelty         share of samples that are not a training line; copy_share = 1 - novelty
- uniqueness      distinct samples / samples
- heldout_hits    share of samples that are real held-out lines (generalisation: a copy of the
                  training set scores 0)
- length_w1       Wasserstein-1 distance between sample and held-out lengths, in tokens
- nll_test        G's NLL of the held-out lines per token (end of line counted), at temperature 1
- nll_test_temp   the same under the distribution the samples were drawn from, softmax(logits / T):
                  the diversity axis of a temperature sweep (Caccia et al. 2020), where lowering T
                  buys quality (oracle NLL) at the price of this NLL; equal to nll_test at T = 1
- reverse_lm_nll  a small LM trained on the samples by a fixed recipe (GRU 64, Adam 3e-3, batch 64,
                  --reverse-lm-steps steps, seed 0) scores the held-out lines, NLL per token: low
                  only if the samples are both good and diverse (Cifka et al. 2018). Its
                  real_baseline trains the same recipe on as many training lines.
- nll_oracle      (data oracle) the oracle's NLL per token of the samples' tokens. Alone it rewards
                  collapse onto the oracle's likeliest lines: read it with nll_test.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...metrics import register
from ...train.checkpoint import isolated_rng
from .bleu import bleu, self_bleu
from .data import tokenize
from .nets import TextGenerator, line_mask

REV_HIDDEN, REV_LR, REV_BATCH = 64, 3e-3, 64
NLL = ("min", 0.0, float("inf"))


@register("text_bleu", {f"bleu{n}": ("max", 0.0, 1.0, f"BLEU-{n} of samples against held-out lines")
                        for n in (2, 3, 4)})
def bleu_scores(real: list, fake: list, **_) -> dict:
    """real: held-out token lists; fake: sample token lists."""
    return {f"bleu{n}": bleu(fake, real, n) for n in (2, 3, 4)}


@register("text_self_bleu", {f"self_bleu{n}": ("min", 0.0, 1.0, f"self-BLEU-{n} among samples (lower: more "
                                                                 "diverse)") for n in (2, 3, 4)})
def self_bleu_scores(real: list, fake: list, **_) -> dict:
    return {f"self_bleu{n}": self_bleu(fake, n) for n in (2, 3, 4)}


@register("text_novelty", {
    "novelty": ("max", 0.0, 1.0, "share of samples that are not a training line"),
    "copy_share": ("min", 0.0, 1.0, "share of samples that are exact copies of a training line"),
    "uniqueness": ("max", 0.0, 1.0, "distinct samples / samples"),
    "heldout_hits": ("max", 0.0, 1.0, "share of samples that are real held-out lines G never saw")})
def novelty(real: list[str], fake: list[str], train: set | None = None, **_) -> dict:
    """real: held-out lines; fake: sample lines; train: the set of training lines."""
    train = train or set()
    held = set(real) - train
    n = max(len(fake), 1)
    copies = sum(s in train for s in fake) / n
    return {"novelty": 1 - copies, "copy_share": copies, "uniqueness": len(set(fake)) / n,
            "heldout_hits": sum(s in held for s in fake) / n}


@register("text_length", {"length_w1": ("min", 0.0, float("inf"), "Wasserstein-1 distance of sample and "
                                                                   "held-out line lengths (tokens)")})
def length_distance(real: list, fake: list, **_) -> dict:
    return {"length_w1": wasserstein_1d([len(s) for s in real], [len(s) for s in fake])}


def wasserstein_1d(a, b) -> float:
    """W1 between two empirical distributions: the area between their CDFs."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.sort(np.concatenate([a, b]))
    ca = np.searchsorted(a, grid[:-1], side="right") / len(a)
    cb = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(ca - cb) * np.diff(grid)))


@register("text_nll", {"nll_test": (*NLL, "G's NLL per token of held-out lines (temperature 1)"),
                       "nll_test_temp": (*NLL, "G's NLL per token of held-out lines at the sampling temperature"),
                       "reverse_lm_nll": (*NLL, "NLL per token of held-out lines under an LM trained on the "
                                                 "samples (diversity and coverage)"),
                       "nll_oracle": (*NLL, "oracle's NLL per token of the samples (oracle data only)")})
def likelihood_scores(real: torch.Tensor, fake: torch.Tensor, n_vocab: int, G=None, reverse_steps: int = 400,
                      seed: int = 0, oracle=None, fake_lines: list[str] | None = None, temperature: float = 1.0,
                      **_) -> dict:
    """real: held-out ids (N, L); fake: sample ids (M, L); G: the generator (for nll_test)."""
    out = {}
    if G is not None:
        dev = next(G.parameters()).device
        was = G.training
        G.eval()
        try:
            out["nll_test"] = model_nll(G, real.to(dev))
            out["nll_test_temp"] = (out["nll_test"] if temperature == 1 else
                                    model_nll(G, real.to(dev), temperature=temperature))
        finally:
            G.train(was)
    out["reverse_lm_nll"] = reverse_lm_nll(fake, real, n_vocab, reverse_steps, seed)
    if oracle is not None and fake_lines is not None:
        out["nll_oracle"] = oracle.nll_of_lines(fake_lines)
    return out


@torch.no_grad()
def model_nll(G, ids: torch.Tensor, batch: int = 512, temperature: float = 1.0) -> float:
    """Per-token NLL (nats) of ids (N, L) under G sampled at a temperature, end of line counted."""
    tot = cnt = 0.0
    for i in range(0, len(ids), batch):
        s, c = G.nll(ids[i:i + batch], temperature)
        tot, cnt = tot + s.sum().item(), cnt + c.sum().item()
    return tot / cnt


def reverse_lm_nll(train_ids: torch.Tensor, test_ids: torch.Tensor, n_vocab: int, steps: int, seed: int = 0,
                   embed: int = 32) -> float:
    """Train the fixed-recipe LM on train_ids (N, L) (samples), return its per-token NLL of test_ids."""
    with isolated_rng(seed), torch.enable_grad():
        lm = TextGenerator(n_vocab, train_ids.shape[1], REV_HIDDEN, embed)
        opt = torch.optim.Adam(lm.parameters(), REV_LR)
        for _ in range(steps):
            ids = train_ids[torch.randint(len(train_ids), (min(REV_BATCH, len(train_ids)),))]
            ce = F.cross_entropy(lm.logits(ids).transpose(1, 2), ids, reduction="none")
            mask = line_mask(ids)
            loss = (ce * mask).sum() / mask.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(lm.parameters(), 5.0)
            opt.step()
    return model_nll(lm.eval(), test_ids)


class TextEvaluator:
    """Scores G_ema's lines. The engine hands it the net first (`bind_generator`): the likelihood
    scores need G's probabilities, not only its samples."""

    def __init__(self, codec, train: list[str], heldout: list[str], n: int, seed: int = 0,
                 temperature: float = 1.0, reverse_steps: int = 400, oracle=None, real_baseline: bool = True):
        self.codec, self.train, self.heldout = codec, train, heldout
        self.train_set = set(train)
        self.n, self.seed, self.temperature, self.reverse_steps = n, seed, temperature, reverse_steps
        self.oracle = oracle
        self.held_ids = codec.encode(heldout).long()
        self.held_tok = [tokenize(s, codec.tokens) for s in heldout]
        self.G = None
        self.last_lines: list[str] | None = None
        self.want_baseline = real_baseline
        self.baseline: dict | None = None

    def bind_generator(self, G) -> None:
        self.G = G

    def sample_ids(self, n: int, temperature: float, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.codec.seq_len, generator=gen)
        dev = next(self.G.parameters()).device
        was = self.G.training
        self.G.eval()
        try:
            with torch.no_grad():
                return torch.cat([self.G.sample(z[i:i + 512].to(dev), temperature).cpu()
                                  for i in range(0, n, 512)])
        finally:
            self.G.train(was)

    def quality_diversity(self, temperature: float, n: int | None = None) -> dict:
        """The cheap line metrics (BLEU, self-BLEU, novelty, ...) at one temperature."""
        ids = self.sample_ids(n or self.n, temperature, self.seed + 12345)
        lines = self.codec.decode(ids)
        toks = [tokenize(s, self.codec.tokens) for s in lines]
        return ids, lines, {**bleu_scores(self.held_tok, toks), **self_bleu_scores(self.held_tok, toks),
                            **novelty(self.heldout, lines, self.train_set),
                            **length_distance(self.held_tok, toks)}

    def evaluate(self, sample_fn=None, temperature: float | None = None) -> dict:
        if self.G is None:
            raise RuntimeError("TextEvaluator needs the generator: call bind_generator(G) first")
        t = self.temperature if temperature is None else temperature
        ids, lines, out = self.quality_diversity(t)
        self.last_lines = lines
        out.update(likelihood_scores(self.held_ids, ids, self.codec.n_vocab, self.G, self.reverse_steps, self.seed,
                                     self.oracle, lines, temperature=t))
        if self.want_baseline:
            out.update({f"real_baseline_{k}": v for k, v in self._baseline().items()})
        out.update(n_fake=len(lines), n_heldout=len(self.heldout), n_train=len(self.train), temperature=t)
        return out

    def _baseline(self) -> dict:
        """Real lines in place of samples: as many training lines as samples (a seeded draw)."""
        if self.baseline is None:
            g = torch.Generator().manual_seed(self.seed)
            pick = torch.randint(len(self.train), (self.n,), generator=g).tolist()
            lines = [self.train[i] for i in pick]
            toks = [tokenize(s, self.codec.tokens) for s in lines]
            ids = self.codec.encode(lines).long()
            self.baseline = {"bleu4": bleu(toks, self.held_tok, 4), "self_bleu4": self_bleu(toks, 4),
                             "reverse_lm_nll": reverse_lm_nll(ids, self.held_ids, self.codec.n_vocab,
                                                              self.reverse_steps, self.seed)}
            if self.oracle is not None:
                self.baseline["nll_oracle"] = self.oracle.nll_of_lines(self.heldout)
        return self.baseline


def verdicts(res: dict) -> list[tuple[str, str]]:
    out = []
    if "novelty" in res:
        out.append(("novelty", f"{res['novelty']:.0%} of samples are new lines (not in the training data), "
                    f"{res['uniqueness']:.0%} are distinct, and {res['heldout_hits']:.1%} are real held-out lines "
                    "the model never saw" + (" (generalisation, not copying)." if res["heldout_hits"] > 0 else ".")))
    if "bleu4" in res:
        b = res.get("real_baseline_bleu4")
        sb = res.get("real_baseline_self_bleu4")
        out.append(("bleu4", f"BLEU-4 {res['bleu4']:.3f} (quality vs held-out lines"
                    + (f"; real lines score {b:.3f}" if b is not None else "") + f"), self-BLEU-4 "
                    f"{res['self_bleu4']:.3f} (lower = more diverse" + (f"; real lines {sb:.3f}" if sb is not None
                                                                        else "") + "): judge the pair, not one."))
    if "reverse_lm_nll" in res:
        b = res.get("real_baseline_reverse_lm_nll")
        out.append(("reverse_lm_nll", f"an LM trained on the samples scores held-out lines at "
                    f"{res['reverse_lm_nll']:.3f} nats/token" + (f" (trained on real lines: {b:.3f})" if b is not None
                                                                  else "") + "; lower means better coverage."))
    if res.get("nll_oracle") is not None:
        out.append(("nll_oracle", f"the oracle scores the samples at {res['nll_oracle']:.3f} nats/token (its own "
                    f"held-out lines: {res.get('real_baseline_nll_oracle', float('nan')):.3f}); lower alone can "
                    "mean collapse: read it with nll_test."))
    if "nll_test" in res and math.isfinite(res["nll_test"]):
        out.append(("nll_test", f"held-out NLL {res['nll_test']:.3f} nats/token under G at temperature 1."))
    return out
