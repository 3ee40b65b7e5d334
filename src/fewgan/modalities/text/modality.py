"""Text modality: short lines, char or word tokens; a GRU generator trained by maximum likelihood,
then (unless --adv-steps 0) adversarially in RelGAN's way (phases.py). The plain MLE run is the
baseline every text result is compared with, at several sampling temperatures (Caccia et al. 2020).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ...api import GAN
from ...config import TrainConfig
from ...errors import UsageError
from .. import Prepared
from .data import (BUILTIN, EOS, UNK, TextCodec, check_lengths, lines_fingerprint, lines_of, names_lines, read_lines,
                   split_heldout)
from .nets import TextCell, TextDiscriminator, TextGenerator

HIDDEN, BATCH, EVAL_N = 128, 64, 1000
DEFAULT_MLE, DEFAULT_ADV = 1000, 500      # steps: names overfits past ~1000 MLE steps (held-out NLL 1.87 -> 1.95 at 2000)
# The adversarial phase keeps the likelihood term, and D sees hard tokens: on the relaxation itself D
# told fake from real by its softness and G learnt to end lines early (docs/benchmarks.md, round 16).
MLE_WEIGHT = 1.0
EMA_STEPS = 50                            # EMA half-life of G in steps
SPLIT_SEED = 0                            # the held-out split is fixed: every run of a dataset shares it

# How TextGenerator.sample draws a line, step t = 0 .. steps-1, for the export JSON (keep in step with it).
SAMPLING_RULES = [
    "logits, h = cell(token, h)",
    "p = softmax(logits / temperature) in float32 (temperature 1 samples the model; fewgan's --temperature)",
    "u = a uniform(0, 1) draw per line and step; fewgan's own: u = Phi(z[:, t]) = 0.5 * (1 + erf(z / sqrt(2))) "
    "with z standard normal, shape (batch, steps)",
    "next = the number of entries of cumsum(p) below u, at most len(vocab) - 1 (inverse CDF); greedy: argmax(p)",
    "at the last step (t = steps - 1) next = eos: every line ends by max_len",
    "a prefix (fewer than steps tokens, each in vocab): next = its t-th token's id while t < its length",
    "a line that has ended keeps eos; the loop may stop once every line has ended",
    "token = next",
]


@dataclass
class TextPrepared(Prepared):
    train_lines: list[str] = field(default_factory=list)
    heldout_lines: list[str] = field(default_factory=list)


def load_lines(src, options) -> list[str]:
    if src is not None and not isinstance(src, (str, Path)):
        if not isinstance(src, (list, tuple)):
            raise UsageError(f"text data must be a list of str, a file path, 'names' or 'oracle' "
                             f"(got {type(src).__name__})")
        lines, what = lines_of(src), "the list"
    elif str(src) == "names":
        lines, what = names_lines(), "names"
    elif str(src) == "oracle":
        from .oracle import oracle_lines
        lines, what = oracle_lines(), "oracle"
    else:
        lines, what = read_lines(src), f"--data {src}"
    if not lines:
        raise UsageError(f"{what}: no non-blank lines: pass a UTF-8 text file with one example per line")
    if options.dedupe:
        lines = list(dict.fromkeys(lines))
    return lines


class TextModality:
    name = "text"
    primary_metric = "nll_test"
    metric_panels = [("BLEU-4 and self-BLEU-4", ("bleu4", "self_bleu4")),
                     ("novelty and held-out hits (higher is better)", ("novelty", "heldout_hits")),
                     ("NLL per token (lower is better)", ("nll_test", "reverse_lm_nll", "nll_oracle"))]

    def prepare(self, cfg: TrainConfig, data=None, labels=None) -> TextPrepared:
        if labels is not None:
            raise UsageError("text runs take no labels")
        o = cfg.options
        lines = load_lines(cfg.data if data is None else data, o)
        if o.max_len is None:
            longest = max(len(s) if o.tokens == "char" else len(s.split()) for s in lines)
            if longest > 512:
                raise UsageError(f"the longest line has {longest} tokens: pass --max-len N (at most 512) and "
                                 "--truncate, or use shorter lines")
        lines, max_len = check_lengths(lines, o.tokens, o.max_len, o.truncate)
        train, held = split_heldout(lines, o.holdout, SPLIT_SEED)
        codec = TextCodec.fit(lines, o.tokens, max_len, o.min_count)
        return TextPrepared(codec.encode(train), None, codec, lines_fingerprint(lines),
                            train_lines=train, heldout_lines=held)

    def codec_from_state(self, s: dict) -> TextCodec:
        return TextCodec(list(s["vocab"]), s["tokens"], int(s["max_len"]))

    def adapt_prepared(self, prep: TextPrepared, codec: TextCodec) -> TextPrepared:
        """Resume and `evaluate --data OTHER`: the lines in the run's own vocabulary."""
        if prep.codec.state_dict() == codec.state_dict():
            return replace(prep, codec=codec)
        return replace(prep, x=codec.encode(prep.train_lines), codec=codec)

    def resolve_defaults(self, cfg: TrainConfig, prep: TextPrepared) -> TrainConfig:
        if cfg.augment not in ("auto", "none"):
            raise UsageError(f"--augment {cfg.augment}: augmentation is for images; text runs take --augment none")
        if cfg.loss not in (None, "ns"):
            raise UsageError(f"--loss {cfg.loss}: text runs use their own loss (relativistic, or "
                             "--no-relativistic for non-saturating): drop --loss")
        if cfg.r1_gamma not in (None, 0.0):
            raise UsageError("--r1-gamma: text runs have no R1 penalty (D sees one-hot sequences): drop it")
        codec = prep.codec
        o = cfg.options.fill_none(max_len=codec.max_len, hidden=HIDDEN, mle_weight=MLE_WEIGHT, straight_through=True)
        mle, adv = o.mle_steps, o.adv_steps
        if cfg.steps is not None:       # one --steps: 3/4 MLE, 1/4 adversarial, unless one is given
            if mle is None and adv is None:
                mle = cfg.steps * 3 // 4
                adv = cfg.steps - mle
            elif mle is None:
                mle = max(cfg.steps - adv, 0)
            elif adv is None:
                adv = max(cfg.steps - mle, 0)
        mle = DEFAULT_MLE if mle is None else mle
        adv = DEFAULT_ADV if adv is None else adv
        steps = cfg.steps if cfg.steps is not None or cfg.minutes is not None else max(mle + adv, 1)
        # RelGAN's adversarial optimiser: Adam 1e-4 for both nets, betas .9/.999; batch 64.
        cfg = cfg.fill_none(loss="ns", batch=BATCH, g_lr=1e-4, d_lr=1e-4, beta1=0.9, beta2=0.999, r1_gamma=0.0,
                            z_dim=codec.seq_len, r1_every=16, eval_n=EVAL_N)
        return cfg.replace(options=o.replace(mle_steps=mle, adv_steps=adv), augment="none", steps=steps,
                           ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * EMA_STEPS / 1000)

    def build_nets(self, cfg: TrainConfig, codec: TextCodec):
        o = cfg.options
        return (TextGenerator(codec.n_vocab, codec.seq_len, o.hidden, o.embed, o.dropout),
                TextDiscriminator(codec.n_vocab, codec.seq_len, o.embed, o.d_channels))

    def make_phases(self, engine):
        from .phases import TextPhases
        return TextPhases(engine)

    def make_augment(self, cfg: TrainConfig):
        return None

    def make_evaluator(self, cfg: TrainConfig, prep: TextPrepared, cache_dir: Path | None, real_baseline: bool = True):
        from .metrics import TextEvaluator
        oracle = None
        if cfg.data == "oracle":
            from .oracle import OracleLM
            oracle = OracleLM()
        o = cfg.options
        return TextEvaluator(prep.codec, prep.train_lines, prep.heldout_lines, cfg.eval_n or EVAL_N, cfg.seed,
                             o.eval_temperature, o.reverse_lm_steps, oracle, real_baseline)

    def verdicts(self, results: dict) -> list[tuple[str, str]]:
        from .metrics import verdicts
        return verdicts(results)

    def report_panels(self, ev) -> list[tuple[str, str]]:
        from .report import panels
        return panels(ev)

    def decode(self, samples: torch.Tensor, codec: TextCodec) -> list[str]:
        return codec.decode(samples)

    def preview(self, samples: torch.Tensor, codec: TextCodec, path: Path) -> None:
        """samples/step-N.txt: the fixed-noise lines of G_ema, one per line."""
        from ...train.checkpoint import atomic_write_text
        atomic_write_text(Path(path).with_suffix(".txt"), "\n".join(codec.decode(samples)) + "\n")

    def export_module(self, gen, n: int, seed: int = 0):
        """`fewgan export`: G's per-step cell (token, h) -> (logits, h_next) (sampling is a loop with
        random draws, so it stays with the caller); examples: random previous ids (BOS included) and
        states in (-1, 1), where a GRU's state lives."""
        from ...export import Exportable
        g = torch.Generator().manual_seed(seed)
        token = torch.randint(gen.codec.n_vocab + 1, (n,), generator=g)
        h = torch.rand(n, gen.G.rnn.hidden_size, generator=g) * 2 - 1
        notes = {"token": {"meaning": "the previous token id; bos (decode.special_ids) at the first step"},
                 "h": {"meaning": "the GRU state", "initial": "zeros"},
                 "logits": {"meaning": "next-token logits over decode.vocab"},
                 "h_next": {"meaning": "the state to feed back as h"}}
        return Exportable(TextCell(gen.G), (token.to(gen.device), h.to(gen.device)), ("token", "h"),
                          ("logits", "h_next"), notes)

    def export_info(self, codec: TextCodec) -> dict:
        """`fewgan export`: what runs the cell's loop as TextGenerator.sample does (docs/tensorflow.md)."""
        return {"vocab": list(codec.vocab), "tokens": codec.tokens, "joiner": "" if codec.tokens == "char" else " ",
                "special_ids": {"bos": codec.n_vocab, "eos": EOS, "pad": EOS,
                                "unk": UNK if codec.tokens == "word" else None},
                "max_len": codec.max_len, "steps": codec.seq_len,
                "start": {"token": codec.n_vocab, "h": "zeros, shape of the input h"},
                "sampling": SAMPLING_RULES,
                "to_text": "the ids before the first eos, vocab[id] each, joined by joiner"}

    def write_samples(self, gen, n: int, path: Path, seed: int = 0, temperature: float = 1.0,
                      prefix: str | None = None) -> None:
        """.txt: UTF-8, one sampled line per line."""
        if path.suffix.lower() != ".txt":
            raise UsageError(f"--out {path}: use a .txt file name for text samples")
        lines = sample_lines(gen.G, gen.codec, n, temperature, prefix, seed, gen.device)
        from ...train.checkpoint import atomic_write_text
        atomic_write_text(path, "".join(s + "\n" for s in lines))


def prefix_ids(codec: TextCodec, prefix: str | None) -> list[int]:
    if not prefix:
        return []
    ids = codec.ids_of(prefix, "--prefix")
    if UNK in ids:
        bad = next(t for t, i in zip(prefix.split(), ids) if i == UNK)
        raise UsageError(f"--prefix {prefix!r}: the word {bad!r} is not in the run's vocabulary: "
                         "use words of the training data")
    if len(ids) >= codec.seq_len:
        raise UsageError(f"--prefix {prefix!r} has {len(ids)} tokens: the run's lines hold at most "
                         f"{codec.max_len}: use a shorter prefix")
    return ids


def sample_lines(G: TextGenerator, codec: TextCodec, n: int, temperature: float = 1.0, prefix: str | None = None,
                 seed: int = 0, device: torch.device | str = "cpu", batch: int = 512) -> list[str]:
    """n lines from G at a temperature; a prefix pins the first tokens of every line."""
    if n < 1:
        raise UsageError(f"-n must be >= 1, got {n}")
    if not temperature > 0:
        raise UsageError(f"--temperature must be > 0, got {temperature}")
    ids = prefix_ids(codec, prefix)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, codec.seq_len, generator=gen)
    forced = torch.full((n, codec.seq_len), -1, dtype=torch.long)
    forced[:, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    was = G.training
    G.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, n, batch):
                out.append(G.sample(z[i:i + batch].to(device), temperature, forced[i:i + batch].to(device)).cpu())
    finally:
        G.train(was)
    return codec.decode(torch.cat(out))


class TextGAN(GAN):
    """TextGAN().fit(lines_or_path).sample(n, temperature=0.8) -> list of str.

    Every TextOptions field (tokens, max_len, mle_steps, adv_steps, ...) is a keyword too;
    adv_steps=0 trains the plain maximum-likelihood model."""
    modality = "text"

    def fit(self, data="names", out: str | Path | None = None, verbose: bool = False):
        """data: "names", "oracle", a UTF-8 file path, or a list of str (one example each)."""
        if isinstance(data, tuple):
            data = list(data)
        return super().fit(data, None, out, verbose)

    def sample(self, n: int, temperature: float = 1.0, prefix: str | None = None, seed: int = 0) -> list[str]:
        g = self._require_fit()
        return sample_lines(g.G, g.codec, n, temperature, prefix, seed, g.device)
