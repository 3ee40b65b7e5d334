"""The synthetic oracle benchmark (SeqGAN / Texygen protocol, scaled to a CPU).

A GRU language model (embedding 32, hidden 32) whose every weight is N(0, 1) from a fixed seed
(1234) plays the "true" distribution over 64 symbols (A-Z a-z 0-9 + /, one character each) and
generates 5,000 lines of exactly 20 symbols (seed 0). Its entropy is about 0.91 nats per symbol.
Because the oracle is known exactly, a model's samples can be scored by the oracle's own NLL
(nll_oracle), and the model's NLL of held-out oracle lines (nll_test) is bounded below by that
entropy. The oracle has no end-of-line symbol: its lines have a fixed length, and nll_oracle is the
mean over the symbols the samples contain.
"""
from __future__ import annotations

import string

import torch
from torch import nn

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"     # 64 symbols
N_LINES, LENGTH, ORACLE_SEED, DATA_SEED = 5000, 20, 1234, 0


class OracleLM(nn.Module):
    def __init__(self, n_symbols: int = len(ALPHABET), hidden: int = 32, seed: int = ORACLE_SEED):
        super().__init__()
        self.n = n_symbols
        self.emb = nn.Embedding(n_symbols + 1, hidden)            # id n = start of line
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_symbols)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        self.requires_grad_(False)

    @torch.no_grad()
    def logprobs(self, sym: torch.Tensor) -> torch.Tensor:
        """(B, T) symbol ids -> (B, T) log p(sym_t | sym_<t)."""
        start = torch.full_like(sym[:, :1], self.n)
        h, _ = self.rnn(self.emb(torch.cat([start, sym[:, :-1]], 1)))
        return torch.log_softmax(self.out(h), -1).gather(-1, sym[..., None])[..., 0]

    @torch.no_grad()
    def generate(self, n: int, length: int = LENGTH, seed: int = DATA_SEED) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        tok, h, out = torch.full((n, 1), self.n, dtype=torch.long), None, []
        for _ in range(length):
            o, h = self.rnn(self.emb(tok), h)
            tok = torch.multinomial(torch.softmax(self.out(o[:, 0]), -1), 1, generator=g)
            out.append(tok[:, 0])
        return torch.stack(out, 1)

    def nll_of_lines(self, lines: list[str]) -> float:
        """Mean oracle NLL per symbol over all symbols of the lines (empty lines add nothing)."""
        index = {c: i for i, c in enumerate(ALPHABET)}
        tot, cnt = 0.0, 0
        by_len: dict[int, list[list[int]]] = {}
        for s in lines:
            if s:
                by_len.setdefault(len(s), []).append([index[c] for c in s])
        for rows in by_len.values():
            lp = self.logprobs(torch.tensor(rows))
            tot, cnt = tot - lp.sum().item(), cnt + lp.numel()
        return tot / cnt if cnt else float("nan")


def oracle_lines(n: int = N_LINES) -> list[str]:
    sym = OracleLM().generate(n)
    return ["".join(ALPHABET[i] for i in row) for row in sym.tolist()]
