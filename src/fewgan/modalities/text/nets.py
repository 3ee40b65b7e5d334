"""Generator and discriminator of the text GAN.

G is a GRU language model over token ids (0 = end of line). It is used three ways:
  logits(ids)          teacher forcing, (B, L) ids -> (B, L, V) next-token logits   (MLE, NLL)
  sample(z, T, forced) free running, one standard normal per position -> (B, L) ids, each token
                       drawn from softmax(logits / T) by the inverse CDF of Phi(z_t); `forced`
                       (B, L), -1 = free, pins tokens (a prefix)
  relaxed(beta)        free running with Gumbel noise from torch's global generator: the hard
                       token argmax(logits + g) feeds the next step, D sees softmax(beta (logits + g))
                       (RelGAN); positions after the end are exact one-hot EOS, like real padding.
  step(tok, h)         one step of both free-running loops: (B,) previous ids (BOS = n_vocab at the
                       start), (B, hidden) state or None (zeros) -> (B, V) logits, (B, hidden) state;
                       `fewgan export` writes this cell (TextCell) as the text graph.
D is a CNN over (soft) one-hot sequences (B, L, V): a linear token embedding, 1-D convolutions of
several widths, max over time, a small MLP -> one logit per line.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .data import EOS


class TextGenerator(nn.Module):
    def __init__(self, n_vocab: int, seq_len: int, hidden: int = 128, embed: int = 32, dropout: float = 0.0):
        super().__init__()
        self.n_vocab, self.seq_len, self.dropout = n_vocab, seq_len, dropout
        self.emb = nn.Embedding(n_vocab + 1, embed)       # id n_vocab = start of line
        self.rnn = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_vocab)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) long -> (B, L, V): logits of token t given tokens < t."""
        bos = torch.full_like(ids[:, :1], self.n_vocab)
        e = self.emb(torch.cat([bos, ids[:, :-1]], 1))
        # Dropout only here, on teacher forcing (the MLE phase; a no-op in eval mode, as G_ema is):
        # the free-running loops stay deterministic given their noise. p = 0 draws nothing, so the
        # random streams of runs without it are unchanged.
        drop = (lambda t: F.dropout(t, self.dropout, self.training)) if self.dropout > 0 else (lambda t: t)
        h, _ = self.rnn(drop(e))
        return self.out(drop(h))

    def _start(self, b: int, device) -> tuple[torch.Tensor, None]:
        return torch.full((b,), self.n_vocab, dtype=torch.long, device=device), None

    def step(self, tok: torch.Tensor, h: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) ids, (B, hidden) state or None (the GRU's zeros) -> ((B, V) logits, (B, hidden) state)."""
        o, h = self.rnn(self.emb(tok[:, None]), None if h is None else h[None])
        return self.out(o[:, 0]), h[0]

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.sample(z, 1.0, c).float()

    def sample(self, z: torch.Tensor, temperature: float = 1.0, forced: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, L) standard normal -> (B, L) long ids, EOS after the end."""
        b, L = z.shape
        u = 0.5 * (1 + torch.erf(z / 2 ** 0.5))                         # (B, L) uniform
        tok, h = self._start(b, z.device)
        ended = torch.zeros(b, dtype=torch.bool, device=z.device)
        out = []
        for t in range(L):
            logit, h = self.step(tok, h)
            p = torch.softmax(logit.float() / temperature, -1)             # (B, V)
            nxt = (p.cumsum(-1) < u[:, t:t + 1]).sum(-1).clamp_(max=self.n_vocab - 1)
            if t == L - 1:
                nxt = torch.full_like(nxt, EOS)                         # every line ends by max_len
            if forced is not None:
                nxt = torch.where(forced[:, t] >= 0, forced[:, t], nxt)
            nxt = torch.where(ended, torch.full_like(nxt, EOS), nxt)
            ended |= nxt == EOS
            out.append(nxt)
            tok = nxt
        return torch.stack(out, 1)

    def relaxed(self, b: int, beta: float, device, straight_through: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(soft (B, L, V) with gradient to G, hard (B, L) ids). straight_through: D sees the hard
        one-hot tokens (as it sees real lines), the gradient is the relaxation's."""
        tok, h = self._start(b, device)
        ended = torch.zeros(b, dtype=torch.bool, device=device)
        eos = F.one_hot(torch.tensor(EOS, device=device), self.n_vocab).float()
        soft, hard = [], []
        for t in range(self.seq_len):
            logit, h = self.step(tok, h)
            u = torch.rand_like(logit).clamp_(1e-10, 1 - 1e-7)
            g = logit - torch.log(-torch.log(u))                       # logits + Gumbel noise
            nxt = g.argmax(-1)
            y = torch.softmax(beta * g, -1)                            # (B, V)
            if t == self.seq_len - 1:
                nxt = torch.full_like(nxt, EOS)
            if straight_through:
                y = F.one_hot(nxt, self.n_vocab).float() + (y - y.detach())      # exactly one-hot forward
            done = ended[:, None]
            soft.append(torch.where(done, eos, y))
            nxt = torch.where(ended, torch.full_like(nxt, EOS), nxt)
            ended = ended | (nxt == EOS)
            hard.append(nxt)
            tok = nxt
        return torch.stack(soft, 1), torch.stack(hard, 1)

    def nll(self, ids: torch.Tensor, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed NLL per line (B,), tokens per line (B,)) of ids (B, L) under softmax(logits / T),
        the distribution `sample` draws from, counting up to and including the first EOS."""
        lp = torch.log_softmax(self.logits(ids).float() / temperature, -1).gather(-1, ids[..., None])[..., 0]
        mask = line_mask(ids)
        return -(lp * mask).sum(1), mask.sum(1)


def line_mask(ids: torch.Tensor) -> torch.Tensor:
    """(B, L) 1.0 at the tokens of a line and at its first EOS, 0 on the padding after it."""
    after = torch.cumsum((ids == EOS).long(), 1) - (ids == EOS).long()      # EOS seen before t
    return (after == 0).float()


class TextDiscriminator(nn.Module):
    def __init__(self, n_vocab: int, seq_len: int, embed: int = 32, channels: int = 64,
                 widths: tuple[int, ...] = (2, 3, 4, 5)):
        super().__init__()
        self.emb = nn.Linear(n_vocab, embed, bias=False)              # soft one-hot -> embedding
        self.convs = nn.ModuleList(nn.Conv1d(embed, channels, k, padding=k - 1) for k in widths)
        width = channels * len(widths)
        self.head = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, V) one-hot or relaxed -> (B,) logits."""
        e = self.emb(x).transpose(1, 2)                                # (B, E, L)
        h = torch.cat([F.leaky_relu(conv(e), 0.2).amax(-1) for conv in self.convs], 1)
        return self.head(h)[:, 0]


class TextCell(nn.Module):
    """G's step as a graph with a fixed signature (token, h) -> (logits, h_next) for `fewgan export`:
    the state is an input, so the loop, its sampling and its stopping rule stay with the caller."""

    def __init__(self, G: TextGenerator):
        super().__init__()
        self.G = G

    def forward(self, token: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, h = self.G.step(token, h)
        return logits.float(), h.float()
