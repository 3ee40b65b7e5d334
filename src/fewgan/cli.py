"""Command line: fewgan train | sample | info. Thin: flags -> TrainConfig -> fewgan.train.run.

Exit codes: 0 success, 2 bad input or usage (one line on stderr, no traceback), 1 internal error.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from .config import AUGMENT_MODES, LOSS_NAMES, PRECISIONS, TrainConfig
from .errors import UsageError
from .modalities import NAMES as MODALITY_NAMES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage dump
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int(s: str, minimum: int) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(f"{v} must be >= {minimum}")
    return v


def _positive_int(s: str) -> int:
    return _int(s, 1)


def _nonneg_int(s: str) -> int:
    return _int(s, 0)


def _float(s: str, minimum: float, strict: bool) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not math.isfinite(v) or v < minimum or (strict and v == minimum):
        raise argparse.ArgumentTypeError(f"{s} must be a finite number {'>' if strict else '>='} {minimum:g}")
    return v


def _unit_float(s: str) -> float:
    v = _float(s, 0.0, strict=False)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"{s} must be in [0, 1)")
    return v


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{s!r} is not true or false")


def _positive_float(s: str) -> float:
    return _float(s, 0.0, strict=True)


def _nonneg_float(s: str) -> float:
    return _float(s, 0.0, strict=False)


# (flag, config field, type, help). Defaults come from TrainConfig so there is one source of truth.
TRAIN_FLAGS = [
    ("--data", "data", str, "images: digits, faces100, histology, a folder, .npy/.npz or IDX; "
                            "tables: breast_cancer, wine, a .csv/.tsv/.parquet file"),
    ("--res", "res", _positive_int, "training resolution in pixels (default: the dataset's, digits 32)"),
    ("--max-images", "max_images", _positive_int, "train on a fixed, seeded subset of N images"),
    ("--steps", "steps", _positive_int, "total training steps (default 2000 unless --minutes is given)"),
    ("--minutes", "minutes", _positive_float, "wall-clock budget in minutes"),
    ("--batch", "batch", _positive_int, "batch size"),
    ("--seed", "seed", int, "random seed"),
    ("--loss", "loss", str, f"one of {', '.join(LOSS_NAMES)} (bce = classic minimax; ns = non-saturating)"),
    ("--g-lr", "g_lr", _positive_float, "generator learning rate"),
    ("--d-lr", "d_lr", _positive_float, "discriminator learning rate (TTUR: larger than G's)"),
    ("--augment", "augment", str, f"one of {', '.join(AUGMENT_MODES)}: D-only augmentation"),
    ("--aug-ops", "aug_ops", str, "comma list of color,translation,cutout"),
    ("--ada-target", "ada_target", _positive_float, "ADA target for E[sign D(real)]"),
    ("--ada-kimg", "ada_kimg", _positive_float, "ADA speed: kimg for p to move from 0 to 1"),
    ("--r1-gamma", "r1_gamma", _nonneg_float, "R1 weight (0 disables)"),
    ("--r1-every", "r1_every", _positive_int, "lazy R1 interval in steps [16; series rgan 4]"),
    ("--ema-kimg", "ema_kimg", _positive_float, "EMA half-life of G in thousands of images"),
    ("--width", "width", _positive_int, "channel width multiplier of G and D (default by resolution)"),
    ("--z-dim", "z_dim", _positive_int, "noise dimension [64; series rgan: 16 per time step]"),
    ("--device", "device", str, "cpu, cuda, cuda:N or mps"),
    ("--precision", "precision", str, f"one of {', '.join(PRECISIONS)} (auto: bf16 autocast where native)"),
    ("--threads", "threads", _positive_int, "CPU threads for torch"),
    ("--eval-every", "eval_every", _positive_int, "steps between evaluations (metrics.jsonl, best.pt)"),
    ("--eval-n", "eval_n", _positive_int, "fake samples per evaluation (default: as many as real, <= 5000)"),
    ("--until", "until", str, 'stop when a metric bound is met, e.g. "fd<=30" or "coverage>=0.8"'),
    ("--features", "features", str, "feature extractor for metrics: auto, domain, random or inception"),
    ("--inception", "inception", str, "local TorchScript Inception file for standard FID features"),
    ("--log-every", "log_every", _positive_int, "steps between stats.jsonl lines"),
    ("--sample-every", "sample_every", _positive_int, "steps between sample grids"),
    ("--ckpt-every", "ckpt_every", _positive_int, "steps between checkpoints"),
]


# Flags that only one modality reads: (flag, key in config.extra, type, modalities, help).
MODALITY_FLAGS = [
    ("--discrete", "discrete", str, ("table",), "comma list of columns to model as categorical"),
    ("--schema", "schema", str, ("table",), 'JSON file of column types: {"columns": [{"name", "type"}]}'),
    ("--holdout", "holdout", _unit_float, ("table",), "fraction of rows kept out of training for ml_efficacy "
                                                      "and dcr [0.2; 0 trains on every row]"),
    ("--target", "target", str, ("table",), "column that ml_efficacy predicts [the last categorical column]"),
    ("--pac", "pac", _positive_int, ("table",), "rows per critic pack (PacGAN) [10]; divides --batch"),
    ("--seq-len", "seq_len", _positive_int, ("series",), "window length in time steps [24]"),
    ("--model", "model", str, ("series",), "rgan (recurrent GAN in data space) or timegan [rgan]"),
    ("--hidden", "hidden", _positive_int, ("series",), "hidden units of G's GRU and D's convolutions (timegan: "
     "of every recurrent net) [rgan 64, timegan 24]"),
    ("--layers", "layers", _positive_int, ("series",), "recurrent layers (timegan: the supervisor has one fewer) "
     "[rgan 2, timegan 3]"),
    ("--cell", "cell", str, ("series",), "timegan's recurrent cell: gru or lstm [lstm]"),
    ("--ae-steps", "ae_steps", _nonneg_int, ("series",), "timegan: autoencoder phase steps [by --steps]"),
    ("--sup-steps", "sup_steps", _nonneg_int, ("series",), "timegan: supervised phase steps [by --steps]"),
    ("--g-steps", "g_steps", _positive_int, ("series",), "timegan: generator updates per joint step [2]"),
    ("--diff-moments", "diff_moments", _nonneg_float, ("series",), "timegan: weight of the increment moment loss (0: TimeGAN's loss) [100]"),
    ("--reverse", "reverse", _bool, ("series",), "reverse the row order (TimeGAN does this to the stock file) [false]"),
    ("--fill", "fill", str, ("series",), "NaN gaps: none (error) or ffill (carry the last value forward) [none]"),
    ("--disc-iters", "disc_iters", _positive_int, ("series",), "discriminative-score classifier iterations [2000]"),
    ("--pred-iters", "pred_iters", _positive_int, ("series",), "predictive-score regressor iterations [5000]"),
    ("--eval-repeats", "eval_repeats", _positive_int, ("series",), "repeats of each score (mean, std) [3]"),
]


def _default(v) -> str:
    return "by modality and data" if v is None else str(v)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="fewgan", description="GANs that learn from little data.")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a new run, or resume one with --resume RUN")
    t.add_argument("modality", nargs="?", choices=list(MODALITY_NAMES), help="what to train on")
    t.add_argument("--out", help="run directory to create (default runs/<data>-<time>)")
    t.add_argument("--resume", metavar="RUN", help="continue RUN exactly; --steps is the new total")
    defaults = TrainConfig()
    for flag, field, typ, help_ in TRAIN_FLAGS:
        t.add_argument(flag, dest=field, type=typ, default=None,
                       help=f"{help_} [default: {_default(getattr(defaults, field))}]")
    t.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels (bitwise resume)")
    t.add_argument("--conditional", action="store_true", default=None, help="class-conditional G and D")
    t.add_argument("--no-spectral-norm", dest="spectral_norm", action="store_false", default=None,
                   help="disable spectral norm in D")
    t.add_argument("--quiet", action="store_true", help="no progress bar (messages still go to stderr)")
    for flag, key, typ, mods, help_ in MODALITY_FLAGS:
        t.add_argument(flag, dest=f"extra_{key}", type=typ, default=None, help=f"[{'/'.join(mods)}] {help_}")

    s = sub.add_parser("sample", help="write samples of a trained run (images: .png/.npz; tables: .csv; "
                                      "series: .csv/.npy)")
    s.add_argument("run", help="run directory (or a checkpoint file)")
    s.add_argument("-n", type=_positive_int, default=64, help="number of samples [64]")
    s.add_argument("--out", required=True, help="output file; its suffix picks the format")
    s.add_argument("--label", help="class id or name for conditional image runs")
    s.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="tables: every sampled row has COL == VALUE (repeatable)")
    s.add_argument("--length", type=_positive_int, help="series: steps per sampled path (default: the training window)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="cpu")

    e = sub.add_parser("evaluate", help="compute a run's metrics (appends to RUN/metrics.jsonl)")
    e.add_argument("run")
    e.add_argument("--data", help="real data to compare with (default: the run's own)")
    e.add_argument("--n", type=_positive_int, help="number of fake samples (default: as many as real, <= 5000)")
    e.add_argument("--features", choices=["auto", "domain", "random", "inception"], help="feature extractor")
    e.add_argument("--inception", help="local TorchScript Inception file (standard FID features)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    r = sub.add_parser("report", help="write RUN/report.html (samples, curves, metrics, verdicts)")
    r.add_argument("run")
    r.add_argument("--data", help="real data to compare with (default: the run's own)")
    r.add_argument("--device", default="cpu")

    i = sub.add_parser("info", help="print a run's config, step and last stats")
    i.add_argument("run")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def cmd_train(a: argparse.Namespace) -> int:
    from .train.run import resume_run, start_run
    given = {field: getattr(a, field) for _, field, _, _ in TRAIN_FLAGS}
    given.update(deterministic=a.deterministic, conditional=a.conditional, spectral_norm=a.spectral_norm)
    given = {k: v for k, v in given.items() if v is not None}
    mod_extra = {}
    for flag, key, _, mods, _ in MODALITY_FLAGS:
        v = getattr(a, f"extra_{key}")
        if v is not None:
            if a.modality not in mods:
                raise UsageError(f"{flag} is for {'/'.join(mods)} runs, not {a.modality or 'a resumed run'}")
            mod_extra[key] = v
    if mod_extra:
        given["extra"] = mod_extra
    if a.resume:
        allowed = {"steps", "minutes", "device", "threads"}
        extra = sorted(set(given) - allowed) + (["modality"] if a.modality else []) + (["out"] if a.out else [])
        if extra:
            raise UsageError(f"--resume takes only --steps/--minutes/--device/--threads; the run's own "
                             f"config fixes the rest (got {', '.join(extra)})")
        eng = resume_run(Path(a.resume), given.get("steps"), given.get("minutes"), given.get("device"),
                         given.get("threads"), progress=not a.quiet)
    else:
        if not a.modality:
            raise UsageError("say what to train: 'fewgan train image ...' (or --resume RUN)")
        cfg = TrainConfig(modality=a.modality, **given)
        cfg.out = a.out or f"runs/{Path(cfg.data).name}-{time.strftime('%Y%m%d-%H%M%S')}"
        eng = start_run(cfg, progress=not a.quiet)
    if eng.interrupted:
        return 130
    print(f"done: step {eng.step} in {Path(eng.out)} (samples/, stats.jsonl, checkpoint.pt, losses.png)")
    return 0


def _where(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        col, eq, value = item.partition("=")
        if not eq or not col:
            raise UsageError(f"--where {item!r}: write it as COLUMN=VALUE")
        out[col] = value
    return out


def cmd_sample(a: argparse.Namespace) -> int:
    from .train.run import TrainedGenerator
    if a.where and a.label:
        raise UsageError("--label and --where do not mix: --label is for images, --where for tables")
    out = Path(a.out)
    g = TrainedGenerator.open(Path(a.run), a.device)
    kw = {}
    if a.length is not None:
        if g.config.modality != "series":
            raise UsageError("--length is for series runs")
        kw["length"] = a.length
    g.modality.write_samples(g, a.n, out, a.seed, _where(a.where) if a.where else a.label, **kw)
    print(f"wrote {a.n} samples to {out}")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluation import evaluate_run
    ev = evaluate_run(Path(a.run), a.data, a.n, a.features, a.inception, a.device)
    res = ev.results
    if a.json:
        print(json.dumps({"step": ev.step, **res}))
        return 0
    from .metrics import METRICS
    print(f"run {ev.run}  step {ev.step}  real {res.get('n_real')}  fake {res.get('n_fake')}  "
          f"features {res.get('extractor')}")
    print(f"{'metric':<16}{'value':>12}{'real vs real':>14}  goal")
    for k, v in res.items():
        if k in METRICS.keys and isinstance(v, (int, float)):
            b = res.get(f"real_baseline_{k}")
            print(f"{k:<16}{v:>12.4g}{(f'{b:.4g}' if b is not None else ''):>14}  {METRICS.keys[k].goal}")
    for _, line in ev.generator.modality.verdicts(res):
        print("- " + line)
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from .report.html import write_report
    out = write_report(Path(a.run), a.data, a.device)
    print(f"wrote {out}")
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from .train.checkpoint import load_checkpoint
    from .train.run import _find_checkpoint
    from .train.stats import read_stats
    run = Path(a.run)
    ck = load_checkpoint(_find_checkpoint(run))
    rows = [r for r in read_stats(run / "stats.jsonl")] if run.is_dir() else []
    info = {"run": str(run), "step": ck["step"], "kimg": ck["nimg"] / 1000, "train_time_s": round(ck["elapsed_s"], 1),
            "rollbacks": ck["rollbacks"], "data_fingerprint": ck["data_fingerprint"],
            "ada_p": ck["ada"]["p"] if ck.get("ada") else None, "config": ck["config"],
            "last_stats": rows[-1] if rows else None}
    if a.json:
        print(json.dumps(info, indent=2))
        return 0
    c = ck["config"]
    print(f"run        {run}")
    print(f"modality   {c['modality']}  data {c['data']}  res {c.get('res')}  images "
          f"{c.get('max_images') or 'all'}  conditional {c.get('conditional')}")
    print(f"progress   step {ck['step']}  ({info['kimg']:.1f} kimg, {info['train_time_s']:.0f} s of training, "
          f"{ck['rollbacks']} rollbacks)")
    print(f"training   loss {c['loss']}  batch {c['batch']}  lr G {c['g_lr']:g} D {c['d_lr']:g}  augment "
          f"{c['augment']}  r1 {c['r1_gamma']:g}  ema {c['ema_kimg']:g} kimg  seed {c['seed']}")
    if rows:
        last = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}
        print("last stats " + "  ".join(f"{k}={v}" for k, v in last.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    from .train.loop import TrainingDiverged
    try:
        a = build_parser().parse_args(argv)
        cmds = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "report": cmd_report,
                "info": cmd_info}
        return cmds[a.cmd](a)
    except UsageError as e:
        print(f"fewgan: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"fewgan: training stopped: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fewgan: interrupted", file=sys.stderr)
        return 130
