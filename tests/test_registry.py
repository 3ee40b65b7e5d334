"""Every registered modality, by registration alone: its flags, a tiny run, sampling in every format
it declares, evaluation, a report, and bitwise exact resume. A new modality gets this coverage by
adding its name to modalities.BUILTIN and a `smoke` run to its Plugin."""
import importlib.util
import json

import pytest

from fewgan.cli import build_parser
from fewgan.config import TrainConfig
from fewgan.metrics import METRICS, load_all
from fewgan.modalities import BUILTIN, get_modality, plugins
from fewgan.train.checkpoint import load_checkpoint

from conftest import assert_same_checkpoint

COMMON = ["--deterministic", "--seed", "5", "--log-every", "2", "--sample-every", "4", "--ckpt-every", "4", "--quiet"]


def _help(capsys, *args) -> str:
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(list(args) + ["--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_every_builtin_registers():
    assert list(plugins()) == list(BUILTIN)
    for name, plugin in plugins().items():
        assert plugin.smoke and plugin.formats, f"{name}: a plug-in declares a smoke run and its sample formats"
        mod = get_modality(name)
        for attr in ("prepare", "codec_from_state", "resolve_defaults", "build_nets", "make_augment", "decode",
                     "preview", "make_evaluator", "verdicts", "report_panels", "write_samples"):
            assert callable(getattr(mod, attr, None)), f"{name} lacks {attr}"
        assert mod.primary_metric in load_all().keys


@pytest.mark.parametrize("name", BUILTIN)
def test_help_lists_only_its_own_flags(name, capsys):
    text = _help(capsys, "train", name)
    mine = {s.flag for s in plugins()[name].options.specs()}
    assert all(f in text for f in mine)
    assert all(s.flag in text for s in TrainConfig.specs())
    others = {s.flag for n, p in plugins().items() if n != name for s in p.options.specs()} - mine
    assert not [f for f in others if f + " " in text], "another modality's flag in this help"


@pytest.mark.parametrize("name", BUILTIN)
def test_foreign_flag_is_refused_naming_its_modality(name, cli, tmp_path):
    mine = {s.flag for s in plugins()[name].options.specs()}
    for other, plugin in plugins().items():
        spec = next((s for s in plugin.options.specs() if s.flag not in mine and s.cli == "value"), None)
        if other == name or spec is None:
            continue
        code, _, err = cli("train", name, spec.flag, "1", "--out", tmp_path / "x")
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"{spec.flag} is a" in err and other in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", BUILTIN)
def test_train_sample_evaluate_report_resume(name, cli, tmp_path):
    plugin = plugins()[name]
    args = [*plugin.smoke, *COMMON]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli("train", name, "--out", straight, "--steps", 8, *args)[0] == 0
    assert cli("train", name, "--out", split, "--steps", 4, *args)[0] == 0
    assert cli("train", "--resume", split, "--steps", 8, "--quiet")[0] == 0
    assert_same_checkpoint(straight / "checkpoint.pt", split / "checkpoint.pt")
    # the saved config is the resolved one and loads back
    cfg = TrainConfig.load(straight / "config.json")
    assert cfg.modality == name and cfg.steps == 8 and cfg.options == TrainConfig.from_dict(
        load_checkpoint(straight / "checkpoint.pt")["config"]).options
    for suffix in plugin.formats:
        out = tmp_path / f"s{suffix}"
        code, _, err = cli("sample", straight, "-n", 6, "--out", out)
        if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
            assert code == 2 and "pip install" in err and not out.exists()
            continue
        assert code == 0 and out.stat().st_size > 0, (suffix, err)
    code, _, err = cli("sample", straight, "-n", 2, "--out", tmp_path / "s.unknown-suffix")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, _ = cli("evaluate", straight, "--json")
    res = json.loads(out)
    assert code == 0 and res["step"] == 8 and get_modality(name).primary_metric in res
    registered = [k for k in res if k in load_all().keys]
    assert registered and all(isinstance(res[k], (int, float)) or res[k] is None for k in registered)
    # what --until accepts for this modality is what its evaluation reports, and no other modality's keys
    assert set(registered) <= set(METRICS.keys_for(name)), set(registered) - set(METRICS.keys_for(name))
    code, _, _ = cli("report", straight)
    assert code == 0 and (straight / "report.html").stat().st_size > 1000
    code, out, _ = cli("info", straight, "--json")
    assert code == 0 and json.loads(out)["config"]["modality"] == name
