"""BLEU and self-BLEU of token sequences, our own code, matching nltk's `sentence_bleu` with
`SmoothingFunction().method1` (epsilon 0.1) and uniform weights 1/n (tests/test_text.py checks it
to 1e-6). Texygen's protocol: the mean sentence BLEU of each sample against every held-out line
(BLEU), and of each sample against all the other samples (self-BLEU: higher = less diverse).

For speed the references are summarised once: per n-gram the largest count in any one reference
(the clipping bound), and the sorted reference lengths (the closest length for the brevity
penalty). Self-BLEU leaves each sample out of its own references by keeping, per n-gram, the two
largest counts and how many references reach the largest.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter

EPS = 0.1


def _ngrams(seq, n: int) -> Counter:
    return Counter(tuple(seq[i:i + n]) for i in range(len(seq) - n + 1))


def _closest(sorted_lens: list[int], h: int) -> int:
    """The reference length closest to h, the shorter on a tie (nltk's rule)."""
    i = bisect.bisect_left(sorted_lens, h)
    cands = sorted_lens[max(0, i - 1): i + 1]
    return min(cands, key=lambda r: (abs(r - h), r))


def _score(hyp, max_n: int, clip, ref_len: int) -> float:
    """Sentence BLEU-max_n of hyp given clip(ngram) -> the clipping bound and the closest length."""
    logs = []
    for n in range(1, max_n + 1):
        counts = _ngrams(hyp, n)
        num = sum(min(c, clip(g)) for g, c in counts.items())
        den = max(1, sum(counts.values()))
        if n == 1 and num == 0:
            return 0.0
        logs.append(math.log((num if num else EPS) / den))
    h = len(hyp)
    bp = 1.0 if h > ref_len else (0.0 if h == 0 else math.exp(1 - ref_len / h))
    return bp * math.exp(math.fsum(lg / max_n for lg in logs))


class References:
    def __init__(self, refs: list, max_n: int):
        self.max_n = max_n
        self.lens = sorted(len(r) for r in refs)
        self.top: dict[tuple, list] = {}          # ngram -> [largest count, refs with it, second largest]
        for r in refs:
            for n in range(1, max_n + 1):
                for g, c in _ngrams(r, n).items():
                    t = self.top.get(g)
                    if t is None:
                        self.top[g] = [c, 1, 0]
                    elif c > t[0]:
                        t[:] = [c, 1, t[0]]
                    elif c == t[0]:
                        t[1] += 1
                    elif c > t[2]:
                        t[2] = c

    def bleu(self, hyp, max_n: int | None = None) -> float:
        max_n = max_n or self.max_n
        return _score(hyp, max_n, lambda g: self.top[g][0] if g in self.top else 0, _closest(self.lens, len(hyp)))

    def bleu_leave_out(self, hyp, max_n: int | None = None) -> float:
        """BLEU of hyp against the references less one copy of hyp itself (which must be one of them)."""
        max_n = max_n or self.max_n
        own = {g: c for n in range(1, max_n + 1) for g, c in _ngrams(hyp, n).items()}

        def clip(g):
            t = self.top.get(g)
            if t is None:
                return 0
            if own[g] < t[0] or t[1] > 1:
                return t[0]
            return t[2]
        lens = list(self.lens)
        lens.pop(bisect.bisect_left(lens, len(hyp)))
        return _score(hyp, max_n, clip, _closest(lens, len(hyp)))


def bleu(hyps: list, refs: list, max_n: int = 4) -> float:
    """Mean sentence BLEU-max_n of each hypothesis against all references."""
    R = References(refs, max_n)
    return sum(R.bleu(h) for h in hyps) / max(len(hyps), 1)


def self_bleu(hyps: list, max_n: int = 4) -> float:
    """Mean sentence BLEU-max_n of each hypothesis against all the others."""
    if len(hyps) < 2:
        return float("nan")
    R = References(hyps, max_n)
    return sum(R.bleu_leave_out(h) for h in hyps) / len(hyps)
