"""Text plug-in: its typed options and registration (light; the implementation is modality.py).

Short lines (names, titles, codes), one example per line, char or word tokens. Training is maximum
likelihood pre-training of a GRU generator, then (unless --adv-steps 0) RelGAN-style adversarial
training through a Gumbel-softmax relaxation against a CNN discriminator (see phases.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...options import Options, option
from .. import Plugin


@dataclass
class TextOptions(Options):
    tokens: str = option("char", "char (every character a token) or word (whitespace-separated)",
                         choices=("char", "word"))
    max_len: int | None = option(None, "longest line in tokens (default: the data's longest line); longer "
                                       "lines are refused unless --truncate", minimum=1, maximum=512, auto=True)
    truncate: bool = option(False, "cut lines longer than --max-len instead of refusing them", cli="switch")
    dedupe: bool = option(False, "drop duplicate lines (default: keep them)", cli="switch")
    min_count: int = option(1, "word tokens seen fewer times become <unk> (--tokens word)", minimum=1)
    holdout: float = option(0.1, "share of the distinct lines held out for the metrics (never trained on)",
                            minimum=0, maximum=0.5, exclusive=True)
    hidden: int | None = option(None, "GRU width of the generator [128]", minimum=1, auto=True)
    embed: int = option(32, "token embedding width of G and D", minimum=1)
    dropout: float = option(0.0, "dropout on G's embeddings and GRU outputs in the MLE phase (teacher forcing)",
                            minimum=0, maximum=0.9)
    mle_steps: int | None = option(None, "maximum-likelihood pre-training steps [by data; --steps alone: 3/4 "
                                         "of them]", minimum=0, auto=True)
    adv_steps: int | None = option(None, "adversarial steps after pre-training (0: the plain MLE model) "
                                         "[by data; --steps alone: 1/4 of them]", minimum=0, auto=True)
    mle_lr: float = option(3e-3, "Adam learning rate of the MLE phase (--g-lr / --d-lr: adversarial phase)",
                           minimum=0, exclusive=True)
    beta_max: float = option(100.0, "final inverse temperature of the Gumbel-softmax (annealed "
                                    "exponentially from 1 over --adv-steps)", minimum=1)
    relativistic: bool = option(True, "relativistic loss (RSGAN, RelGAN's); --no-relativistic: non-saturating",
                                cli="negate", flag="--no-relativistic")
    mle_weight: float | None = option(None, "weight of a teacher-forced MLE term added to G's adversarial loss "
                                           "(0: the adversarial loss alone) [1]", minimum=0)
    adv_weight: float = option(1.0, "weight of G's adversarial loss (0: the same steps without D's signal, the "
                                    "control; needs --mle-weight > 0)", minimum=0)
    straight_through: bool | None = option(None, "D sees G's hard one-hot tokens, the gradient is the Gumbel-"
                                                  "softmax's (straight-through); --no-straight-through: D sees the "
                                                  "relaxation itself, as in RelGAN [on]",
                                           cli="negate", flag="--no-straight-through")
    d_steps: int = option(1, "discriminator updates per adversarial generator update", minimum=1)
    d_channels: int = option(64, "filters per kernel size of the CNN discriminator", minimum=1)
    eval_temperature: float = option(1.0, "sampling temperature of the metrics", minimum=0, exclusive=True)
    reverse_lm_steps: int = option(400, "training steps of the reverse-LM score's fixed-recipe LM", minimum=1)

    def check(self) -> None:
        if self.tokens == "char" and self.min_count != 1:
            raise UsageError("--min-count applies to --tokens word only: drop it or add --tokens word")
        if self.adv_weight == 0 and self.mle_weight == 0:
            raise UsageError("--adv-weight 0 leaves G no loss in the adversarial steps: add --mle-weight W "
                             "(the control), or train the plain MLE model with --adv-steps 0")
        if self.truncate and self.max_len is None:
            raise UsageError("--truncate needs --max-len N (the length to cut at)")


@dataclass
class TextSampleOptions(Options):
    temperature: float = option(1.0, "softmax temperature (<1: safer, less diverse; >1: more diverse)",
                                minimum=0, exclusive=True)
    prefix: str | None = option(None, "every sampled line starts with this text")


PLUGIN = Plugin(
    name="text",
    summary="text: short lines (names, titles, codes), char or word tokens; MLE then RelGAN",
    options=TextOptions,
    impl="fewgan.modalities.text.modality:TextModality",
    api="fewgan.modalities.text.modality:TextGAN",
    data_help="names (US census first names), oracle (synthetic LM benchmark), or a UTF-8 text file "
              "(one example per line)",
    default_data="names",
    sample_options=TextSampleOptions,
    eval_flags=("eval_temperature", "reverse_lm_steps"),
    metrics=("fewgan.modalities.text.metrics",),
    formats=(".txt",),
    smoke=("--data", "names", "--batch", "8", "--hidden", "8", "--embed", "4", "--d-channels", "4",
           "--mle-steps", "4", "--adv-steps", "4", "--eval-n", "20", "--reverse-lm-steps", "3"),
)
