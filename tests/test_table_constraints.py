"""--constraint: every sampled row satisfies each rule (100,000 rows), by construction where the codec
allows it; a training table that breaks its own rule is refused naming the rows."""
import numpy as np
import pandas as pd
import pytest

from fewgan.data.table_constraints import Bound, Combination, Constraints, Order, Sum, parse
from fewgan.errors import UsageError

RULES = ["amount>=0", "0<=age<=120", "start<=end", "opened<=closed", "a+b==total", "gross-tax==net",
         "city,country"]


def _table(n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 100, n)
    a, b = rng.normal(50, 10, n).round(2), rng.normal(5, 2, n).round(2)
    gross = rng.integers(1000, 5000, n)
    tax = (gross * rng.uniform(0.1, 0.3, n)).astype(int)
    city = rng.choice(["Paris", "Lyon", "Berlin", "Munich", "Rome"], n)
    country = pd.Series(city).map({"Paris": "FR", "Lyon": "FR", "Berlin": "DE", "Munich": "DE", "Rome": "IT"})
    opened = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    return pd.DataFrame({
        "amount": np.abs(rng.normal(0, 100, n)).round(2), "age": rng.integers(18, 90, n),
        "start": start, "end": start + rng.integers(0, 50, n), "a": a, "b": b, "total": a + b,
        "gross": gross, "tax": tax, "net": gross - tax, "city": city, "country": country,
        "opened": opened, "closed": opened + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
    })


def test_parse_forms():
    assert isinstance(parse("amount >= 0"), Bound)
    o = parse("end>=start")
    assert isinstance(o, Order) and (o.lo, o.op, o.hi) == ("start", "<=", "end")
    s = parse("gross - tax == net")
    assert isinstance(s, Sum) and s.terms == [(1, "gross"), (-1, "tax")] and s.total == "net"
    assert isinstance(parse("city, country"), Combination)
    assert [(b.op, b.value) for b in Constraints.parse(["0<=age<=120"]).items] == [(">=", 0), ("<=", 120)]
    for bad in ("amount", "a==", "a+b==c+d", "x=>3"):
        with pytest.raises(UsageError, match="constraint"):
            Constraints.parse([bad])


def test_violating_training_table_is_refused_naming_rows():
    df = _table()
    df.loc[[3, 7], "amount"] = -1.0
    with pytest.raises(UsageError, match=r"violates it in 2 row\(s\) \(file lines 5, 9\)"):
        Constraints.parse(["amount>=0"]).validate(df)
    with pytest.raises(UsageError, match="unknown column 'nope'"):
        Constraints.parse(["nope<=end"]).validate(_table())
    with pytest.raises(UsageError, match="rebuilt by"):
        Constraints.parse(["start<=end", "end+a==total"]).validate(_table())


def test_cli_refuses_a_violating_table(tmp_path, cli):
    df = _table()
    df.loc[10, "end"] = df.loc[10, "start"] - 1
    df.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = cli("train", "table", "--data", tmp_path / "t.csv", "--constraint", "start<=end",
                       "--out", tmp_path / "r", "--steps", 2)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "file lines 12" in err
    assert not (tmp_path / "r").exists()


def test_every_sampled_row_satisfies_every_constraint(tmp_path):
    from fewgan import TableGAN
    df = _table()
    gan = TableGAN(constraints=RULES, steps=30, batch=50, pac=5, width=32, z_dim=16).fit(df, out=tmp_path / "r")
    rows = gan.sample(100_000, seed=1)
    assert len(rows) == 100_000 and list(rows.columns) == list(df.columns)
    assert (rows["amount"] >= 0).all() and rows["age"].between(0, 120).all()
    assert (rows["start"] <= rows["end"]).all() and (rows["opened"] <= rows["closed"]).all()
    assert np.allclose(rows["a"] + rows["b"], rows["total"], rtol=1e-12, atol=0)
    assert (rows["gross"] - rows["tax"] == rows["net"]).all()
    seen = set(zip(df["city"], df["country"]))
    assert set(zip(rows["city"], rows["country"])) <= seen
    assert rows["end"].dtype == df["end"].dtype and rows["closed"].dtype == df["closed"].dtype
    # the rules travel with the checkpoint: a reloaded model keeps them
    again = TableGAN.load(tmp_path / "r").sample(2000, seed=2)
    assert (again["start"] <= again["end"]).all() and set(zip(again["city"], again["country"])) <= seen
