"""Text data: reading lines, the built-in `names`, the held-out split and the token codec.

Token ids: 0 = end of line (also the padding after it), 1 = <unk> (word tokens only), then the
vocabulary in sorted order. A line of k tokens is encoded as k ids then EOS up to seq_len =
max_len + 1, so every encoded line holds its end.
"""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError

EOS, UNK = 0, 1
BUILTIN = ("names", "oracle")


def read_lines(path: str | Path) -> list[str]:
    """Non-blank lines of a UTF-8 file (trailing whitespace and \\r stripped); one line naming the
    byte offset for binary or non-UTF-8 input."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"--data {path}: no such file: pass a UTF-8 text file, 'names' or 'oracle'")
    if p.is_dir():
        raise UsageError(f"--data {path}: is a directory: pass a UTF-8 text file (one example per line)")
    raw = p.read_bytes()
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise UsageError(f"--data {path}: binary file (a NUL byte at byte offset {nul}): pass a UTF-8 text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"--data {path}: not UTF-8 (byte 0x{raw[e.start]:02x} at byte offset {e.start}): "
                         "convert it, e.g. iconv -f latin1 -t utf-8") from None
    return lines_of(text.splitlines())


def lines_of(items) -> list[str]:
    """Blank lines dropped, trailing whitespace stripped (an in-memory list gets the same rule)."""
    out = []
    for s in items:
        if not isinstance(s, str):
            raise UsageError(f"text data must be strings, got {type(s).__name__}: pass a list of str or a file path")
        s = s.rstrip("\r\n\t ")
        if s.strip():
            out.append(s)
    return out


def names_lines() -> list[str]:
    """US census first names (1990), from the `names` package's data files: male and female lists
    merged, title case, each name once, sorted."""
    import names as pkg
    root = Path(pkg.__file__).parent
    seen = set()
    for f in ("dist.male.first", "dist.female.first"):
        for row in (root / f).read_text().splitlines():
            if row.strip():
                seen.add(row.split()[0].title())
    return sorted(seen)


def tokenize(line: str, tokens: str) -> list[str]:
    return list(line) if tokens == "char" else line.split()


def split_heldout(lines: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): distinct lines are split, so every copy of a line lands on one side and a
    held-out line is never seen in training."""
    distinct = sorted(set(lines))
    if len(distinct) < 2:
        what = "one line" if len(lines) == 1 else f"one line repeated {len(lines)} times"
        raise UsageError(f"the data holds {what}: a text GAN needs at least 2 distinct lines "
                         "(one to train on, one held out), ideally hundreds")
    k = min(max(1, round(share * len(distinct))), len(distinct) - 1)
    held = set(random.Random(seed).sample(distinct, k))
    return [s for s in lines if s not in held], [s for s in lines if s in held]


@dataclass
class TextCodec:
    vocab: list[str]          # ids 0.. : "<eos>", ("<unk>"), then the tokens
    tokens: str               # char or word
    max_len: int

    @property
    def seq_len(self) -> int:
        return self.max_len + 1

    @property
    def n_vocab(self) -> int:
        return len(self.vocab)

    @classmethod
    def fit(cls, lines: list[str], tokens: str, max_len: int, min_count: int = 1) -> "TextCodec":
        counts = Counter(t for s in lines for t in tokenize(s, tokens))
        keep = sorted(t for t, c in counts.items() if c >= min_count)
        special = ["<eos>"] + (["<unk>"] if tokens == "word" else [])
        return cls(special + keep, tokens, max_len)

    def ids_of(self, line: str, what: str = "line") -> list[int]:
        index = self._index()
        out = []
        for t in tokenize(line, self.tokens):
            i = index.get(t)
            if i is None:
                if self.tokens == "char":
                    raise UsageError(f"{what} {line!r}: the character {t!r} is not in the run's vocabulary: "
                                     "use characters of the training data")
                i = UNK
            out.append(i)
        return out

    def _index(self) -> dict[str, int]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = self.__dict__["_idx"] = {t: i for i, t in enumerate(self.vocab) if i >= (2 if self.tokens == "word" else 1)}
        return idx

    def encode(self, lines: list[str]):
        """(N, seq_len) float token ids (the engine's data tensors are float)."""
        import torch
        x = torch.zeros(len(lines), self.seq_len)
        for r, s in enumerate(lines):
            ids = self.ids_of(s)[: self.max_len]
            x[r, : len(ids)] = torch.tensor(ids, dtype=torch.float32)
        return x

    def decode_ids(self, ids) -> str:
        toks = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            toks.append(self.vocab[i])
        return ("" if self.tokens == "char" else " ").join(toks)

    def decode(self, x) -> list[str]:
        return [self.decode_ids(row) for row in x.long().tolist()]

    def noise_shape(self, z_dim: int) -> tuple[int]:
        """One standard normal per position: G turns it into a uniform and samples its token by the
        inverse CDF, so a fixed noise tensor is a fixed set of lines."""
        return (self.seq_len,)

    def state_dict(self) -> dict:
        return {"vocab": list(self.vocab), "tokens": self.tokens, "max_len": self.max_len}


def check_lengths(lines: list[str], tokens: str, max_len: int | None, truncate: bool) -> tuple[list[str], int]:
    """Lines cut to max_len tokens where --truncate says so; the resolved max_len."""
    lens = [len(tokenize(s, tokens)) for s in lines]
    longest = max(lens)
    if max_len is None:
        return lines, longest
    if longest > max_len and not truncate:
        i = lens.index(longest)
        raise UsageError(f"non-blank line {i + 1} has {longest} {tokens} tokens, more than --max-len {max_len}: raise "
                         f"--max-len to {longest} or add --truncate")
    if truncate:
        sep = "" if tokens == "char" else " "
        lines = [sep.join(tokenize(s, tokens)[:max_len]) if n > max_len else s for s, n in zip(lines, lens)]
    return lines, max_len


def lines_fingerprint(lines: list[str]) -> str:
    h = hashlib.sha256()
    for s in lines:
        h.update(s.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]
