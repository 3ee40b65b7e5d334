"""Command line: fewgan train | sample | evaluate | report | export | info. Thin: flags -> TrainConfig -> engine.

Every flag is generated from a typed Options dataclass: the engine's (config.TrainConfig) and each
registered modality's (its options, sample options and evaluate overrides, see modalities/), so
`fewgan train <modality> --help` lists exactly the flags that modality reads. Building the parser
imports no torch: `fewgan --help` is fast; commands import what they need.

Exit codes: 0 success, 2 bad input or usage (one line on stderr, no traceback), 1 internal error.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import TrainConfig
from .errors import UsageError
from .modalities import plugins
from .options import Spec

RESUME_FLAGS = ("steps", "minutes", "device", "threads")   # what --resume may change


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage dump
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int(s: str, minimum: int, maximum: int | None = None, hint: str = "") -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(f"{v} must be >= {minimum}")
    if maximum is not None and v > maximum:
        raise argparse.ArgumentTypeError(f"{v} must be <= {maximum}{hint}")
    return v


MAX_SAMPLES = 1_000_000      # per `fewgan sample` call: a larger -n would not fit in memory


def _sample_count(s: str) -> int:
    return _int(s, 1, MAX_SAMPLES, ": write more in several calls with different --seed")


def _positive_int(s: str) -> int:
    return _int(s, 1)


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{s!r} is not true or false")


def _converter(spec: Spec):
    """str -> the field's type; bounds and choices are checked once, by Options.validate."""
    if spec.kind is bool:
        return _bool
    if spec.kind is list:
        return lambda s: [v.strip() for v in s.split(",") if v.strip()]
    if spec.kind in (int, float):
        def conv(s: str, kind=spec.kind):
            try:
                return kind(s)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{s!r} is not {'a whole number' if kind is int else 'a number'}") from None
        return conv
    return str


def add_flag(parser, spec: Spec, dest: str) -> None:
    """One argparse flag for one Options field. Defaults are SUPPRESSed: only given flags reach the
    namespace, and the dataclass stays the one source of defaults."""
    shown = spec.describe_default()
    kw = dict(dest=dest, default=argparse.SUPPRESS, help=spec.help + (f" [default: {shown}]" if shown else ""))
    if spec.cli == "switch":
        parser.add_argument(spec.flag, action="store_true", **kw)
    elif spec.cli == "negate":
        parser.add_argument(spec.flag, action="store_false", **kw)
    elif spec.cli == "append":
        parser.add_argument(spec.flag, action="append", metavar=spec.metavar, **kw)
    elif spec.cli == "value":
        metavar = spec.metavar or ("{" + ",".join(spec.choices) + "}" if spec.choices and not spec.comma_choices
                                   else spec.name.upper())
        parser.add_argument(spec.flag, type=_converter(spec), metavar=metavar, **kw)


def given(a: argparse.Namespace, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in vars(a).items() if k.startswith(prefix)}


def build_parser() -> argparse.ArgumentParser:
    mods = plugins()
    p = _Parser(prog="fewgan", description="GANs that learn from little data.")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a new run (fewgan train MODALITY ...), or resume one with --resume RUN",
                       description="Train: 'fewgan train MODALITY --help' lists that modality's flags.")
    t.add_argument("--resume", metavar="RUN", help="continue RUN exactly; --steps is the new total")
    engine = TrainConfig.spec_map()
    for name in RESUME_FLAGS:
        add_flag(t, engine[name], f"e_{name}")
    t.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar")
    tm = t.add_subparsers(dest="modality", parser_class=_Parser, metavar="MODALITY")
    for name, plugin in mods.items():
        m = tm.add_parser(name, help=plugin.summary, description=f"Train a {name} GAN: {plugin.summary}.")
        eng = m.add_argument_group("engine (every modality)")
        for spec in TrainConfig.specs():
            if spec.name == "data":
                spec = _with_help(spec, plugin.data_help + (f" [default: {plugin.default_data}]"
                                                            if plugin.default_data else " (required)"))
            add_flag(eng, spec, f"e_{spec.name}")
        eng.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                         help="no progress bar (messages still go to stderr)")
        own = m.add_argument_group(f"{name} options")
        for spec in plugin.options.specs():
            add_flag(own, spec, f"o_{spec.name}")

    s = sub.add_parser("sample", help="write samples of a trained run (the output's suffix picks the format)")
    s.add_argument("run", help="run directory (or a checkpoint file)")
    s.add_argument("-n", type=_sample_count, default=64, help="number of samples [64]")
    formats = "; ".join(f"{n}: {'/'.join(pl.formats)}" for n, pl in mods.items())
    s.add_argument("--out", required=True, help=f"output file; its suffix picks the format ({formats})")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="cpu")
    s.add_argument("--chunk", type=_positive_int, help="samples per chunk when streaming to a file (table, series): "
                   "bounds memory; the same seed gives the same file whatever the chunk")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _per_modality_flags(s, {n: pl.sample_options.specs() for n, pl in mods.items() if pl.sample_options}, "s_")

    overrides = {n: [pl.options.spec_map()[f] for f in pl.eval_flags] for n, pl in mods.items()}
    e = sub.add_parser("evaluate", help="compute a run's metrics (appends to RUN/metrics.jsonl)")
    e.add_argument("run")
    e.add_argument("--data", help="real data to compare with (default: the run's own)")
    e.add_argument("--n", type=_positive_int, help="number of fake samples (default: as many as real, <= 5000)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    _per_modality_flags(e, overrides, "x_")

    r = sub.add_parser("report", help="write RUN/report.html (samples, curves, metrics, verdicts)")
    r.add_argument("run")
    r.add_argument("--data", help="real data to compare with (default: the run's own)")
    r.add_argument("--device", default="cpu")
    _per_modality_flags(r, overrides, "x_")

    x = sub.add_parser("export", help="write a run's G_ema as an ONNX graph or a torch.export program (+ JSON)")
    x.add_argument("run", help="run directory (or a checkpoint file)")
    x.add_argument("--out", required=True, help="graph file, e.g. g.onnx; the decoding JSON goes beside it (g.json)")
    x.add_argument("--format", choices=("onnx", "pt2"), help="onnx or pt2 (default: from --out's suffix)")
    x.add_argument("--device", default="cpu")

    i = sub.add_parser("info", help="print a run's config, step and last stats")
    i.add_argument("run")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _with_help(spec: Spec, help_: str) -> Spec:
    import dataclasses
    return dataclasses.replace(spec, help=help_, default=None)


def _per_modality_flags(parser, specs: dict[str, list[Spec]], prefix: str) -> None:
    """Flags that some modalities' runs take, labelled with those modalities (one flag per name)."""
    owners: dict[str, list[str]] = {}
    first: dict[str, Spec] = {}
    for name, lst in specs.items():
        for spec in lst:
            owners.setdefault(spec.flag, []).append(name)
            first.setdefault(spec.flag, spec)
    for flag, spec in first.items():
        add_flag(parser, _with_help(spec, f"[{'/'.join(owners[flag])}] {spec.help}"), prefix + spec.name)


def _flag_owners() -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for name, plugin in plugins().items():
        for spec in plugin.options.specs():
            owners.setdefault(spec.flag, []).append(name)
    return owners


def _unknown(a: argparse.Namespace, rest: list[str]) -> UsageError:
    """One line for flags argparse did not take, naming the modality a train flag belongs to."""
    if a.cmd == "train":
        owners = _flag_owners()
        for tok in rest:
            flag = tok.split("=", 1)[0]
            if a.modality and flag in owners:
                mods = "/".join(owners[flag])
                return UsageError(f"{flag} is a {mods} flag: 'fewgan train {a.modality}' does not take it "
                                  f"(see 'fewgan train {a.modality} --help')")
        if a.resume:
            return UsageError(f"--resume takes only --steps/--minutes/--device/--threads; the run's own config "
                              f"fixes the rest (got {' '.join(rest)})")
    return UsageError(f"unrecognized arguments: {' '.join(rest)} (see 'fewgan {a.cmd} --help')")


def cmd_train(a: argparse.Namespace) -> int:
    import os
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:      # started by torchrun: one process per device
        return _train_distributed(a)
    return _train(a)


def _train_distributed(a: argparse.Namespace) -> int:
    from .train.distributed import Distributed, RankLost, exit_lost
    device = given(a, "e_").get("device")
    if device is None and a.resume:
        from .train.checkpoint import load_checkpoint
        from .train.run import _find_checkpoint
        device = load_checkpoint(_find_checkpoint(Path(a.resume)))["config"]["engine"]["device"]
    dist = Distributed.from_env(device or "cpu")
    try:
        code = _train(a, dist)
    except RankLost as e:
        exit_lost(e)
    except BaseException:
        dist.drop()        # bad input (the same on every rank) or a bug: no barrier, just leave the group
        raise
    dist.close()
    return code


def _train(a: argparse.Namespace, dist=None) -> int:
    from .train.run import resume_run, start_run
    eng, opts = given(a, "e_"), given(a, "o_")
    quiet = getattr(a, "quiet", False)
    if a.resume:
        if a.modality:
            raise UsageError("--resume takes only --steps/--minutes/--device/--threads; the run's own config "
                             f"fixes the rest (got {a.modality} and its flags)")
        engine = resume_run(Path(a.resume), eng.get("steps"), eng.get("minutes"), eng.get("device"),
                            eng.get("threads"), progress=not quiet, dist=dist)
    else:
        if not a.modality:
            raise UsageError("say what to train: 'fewgan train image ...' (or --resume RUN); "
                             f"modalities: {', '.join(plugins())}")
        cfg = TrainConfig.build(a.modality, **eng, **opts)
        if cfg.out is None:
            data = cfg.data or plugins()[a.modality].default_data or a.modality
            cfg.out = f"runs/{Path(data).name}-{time.strftime('%Y%m%d-%H%M%S')}"
        engine = start_run(cfg, progress=not quiet, dist=dist)
    if engine.interrupted:
        return 130
    if dist is not None and not dist.main:
        return 0
    print(f"done: step {engine.step} in {Path(engine.out)} (samples/, stats.jsonl, checkpoint.pt, losses.png)")
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    from .train.run import TrainedGenerator
    out = Path(a.out)
    g = TrainedGenerator.open(Path(a.run), a.device)
    opts_cls = plugins()[g.config.modality].sample_options
    kw = given(a, "s_")
    bad = [k for k in kw if opts_cls is None or k not in opts_cls.names()]
    if bad:
        raise UsageError(f"--{bad[0].replace('_', '-')} does not apply to {g.config.modality} runs "
                         "(see 'fewgan sample --help')")
    kw = opts_cls(**kw).validate().to_dict() if opts_cls is not None else {}
    import inspect
    if "chunk" in inspect.signature(g.modality.write_samples).parameters:   # a streaming writer
        kw.update(chunk=a.chunk, progress=not a.quiet)
    elif a.chunk is not None:
        raise UsageError(f"--chunk does not apply to {g.config.modality} runs (they write in one piece)")
    g.modality.write_samples(g, a.n, out, a.seed, **kw)
    print(f"wrote {a.n} samples to {out}")
    return 0


def _overrides(a: argparse.Namespace) -> dict:
    return given(a, "x_")


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluation import evaluate_run
    ev = evaluate_run(Path(a.run), a.data, a.n, a.device, **_overrides(a))
    res = ev.results
    if a.json:
        print(json.dumps({"step": ev.step, **res}))
        return 0
    from .metrics import METRICS
    info = "".join(f"  {k} {v}" for k, v in res.items() if isinstance(v, str))   # e.g. which features
    print(f"run {ev.run}  step {ev.step}  real {res.get('n_real')}  fake {res.get('n_fake')}{info}")
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
    out = write_report(Path(a.run), a.data, a.device, **_overrides(a))
    print(f"wrote {out}")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from .export import export_run
    graph, meta = export_run(Path(a.run), Path(a.out), a.format, a.device)
    print(f"wrote {graph} and {meta}")
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from .train.checkpoint import load_checkpoint
    from .train.run import _find_checkpoint
    from .train.stats import read_stats
    run = Path(a.run)
    ck = load_checkpoint(_find_checkpoint(run))
    cfg = TrainConfig.from_dict(ck["config"])
    rows = [r for r in read_stats(run / "stats.jsonl")] if run.is_dir() else []
    info = {"run": str(run), "step": ck["step"], "kimg": ck["nimg"] / 1000, "train_time_s": round(ck["elapsed_s"], 1),
            "rollbacks": ck["rollbacks"], "data_fingerprint": ck["data_fingerprint"],
            "ada_p": ck["ada"]["p"] if ck.get("ada") else None, "world_size": ck.get("world_size", 1),
            "config": cfg.to_dict(),
            "last_stats": rows[-1] if rows else None}
    if a.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"run        {run}")
    print(f"modality   {cfg.modality}  data {cfg.data}")
    print("options    " + "  ".join(f"{k} {v}" for k, v in cfg.options.to_dict().items()))
    print(f"progress   step {ck['step']}  ({info['kimg']:.1f} kimg, {info['train_time_s']:.0f} s of training, "
          f"{ck['rollbacks']} rollbacks)")
    print(f"training   loss {cfg.loss}  batch {cfg.batch}  lr G {cfg.g_lr:g} D {cfg.d_lr:g}  augment "
          f"{cfg.augment}  r1 {cfg.r1_gamma:g}  ema {cfg.ema_kimg:g} kimg  seed {cfg.seed}")
    if rows:
        last = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}
        print("last stats " + "  ".join(f"{k}={v}" for k, v in last.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        a, rest = build_parser().parse_known_args(argv)
        if rest:
            raise _unknown(a, rest)
        cmds = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "report": cmd_report,
                "export": cmd_export, "info": cmd_info}
        return cmds[a.cmd](a)
    except UsageError as e:
        print(f"fewgan: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fewgan: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        from .train.loop import TrainingDiverged
        if isinstance(e, TrainingDiverged):
            print(f"fewgan: training stopped: {e}", file=sys.stderr)
            return 1
        raise
