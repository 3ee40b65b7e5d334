"""Table plug-in: its typed options and registration (light; the implementation is modality.py)."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...options import Options, option
from .. import Plugin


@dataclass
class TableOptions(Options):
    discrete: list = option([], "comma list of columns to model as categorical")
    schema: str | dict | None = option(None, 'JSON file of column types: {"columns": [{"name", "type"}]} (API: or that dict)')
    holdout: float = option(0.2, "fraction of rows kept out of training for ml_efficacy and dcr "
                                 "(0 trains on every row; the Python API defaults to 0)", minimum=0)
    target: str | None = option(None, "column that ml_efficacy predicts (default: the last categorical column)", auto=True)
    pac: int | None = option(None, "rows per critic pack (PacGAN; 5 below 1000 rows, else 10); divides --batch",
                             minimum=1, auto=True)
    tau: float = option(0.2, "Gumbel-softmax temperature of G's categorical outputs", minimum=0, exclusive=True)
    constraints: list = option([], "a rule every sampled row satisfies (repeatable): col>=0, 0<=col<=1, "
                                   "start<=end, a+b==total, city,country (only seen combinations)",
                               cli="append", flag="--constraint", metavar="RULE")
    marginals: str | None = option(None, "continuous columns' marginals: model (as G makes them), calibrated (G's "
                                     "quantiles mapped to the training data's at sampling time; G keeps the "
                                     "dependence), gaussian (G models normal scores, as a Gaussian copula's, and "
                                     "is calibrated), copula (G starts as a Gaussian copula of the training rows: every "
                                     "continuous column one normal score = a fixed linear map of noise plus a learned "
                                     "residual that starts at zero, categorical columns through latent scores; "
                                     "calibrated); default copula below 1000 rows or when at least half the "
                                     "columns are categorical, else model",
                            choices=("model", "calibrated", "gaussian", "copula"), auto=True)
    copula_reg: float = option(100.0, "--marginals copula: weight of the G penalty that keeps each batch's normal-score "
                                      "moments (mean and covariance around each row's category mean) at the "
                                      "training rows'; 0 turns it off", minimum=0)
    width: int | None = option(None, "hidden width of G's and D's two layers (128 below 1000 rows or with "
                                      "--marginals copula, else 256)",
                               minimum=1, auto=True)

    def check(self) -> None:
        if self.holdout >= 1:
            raise UsageError(f"--holdout must be in [0, 1), got {self.holdout}")


@dataclass
class TableSampleOptions(Options):
    where: list = option([], "every sampled row has COL == VALUE (repeatable)", cli="append", metavar="COL=VALUE")


PLUGIN = Plugin(
    name="table",
    summary="tables: mixed numeric/categorical columns with missing values",
    options=TableOptions,
    impl="fewgan.modalities.table.modality:TableModality",
    api="fewgan.modalities.table.modality:TableGAN",
    data_help="a .csv/.tsv/.parquet file, or a built-in: breast_cancer, wine, diabetes (scikit-learn), fair, anes96, "
              "randhie (statsmodels)",
    sample_options=TableSampleOptions,
    metrics=("fewgan.metrics.table_eval",),
    formats=(".csv", ".tsv", ".parquet"),
    smoke=("--data", "wine", "--batch", "20", "--pac", "5", "--width", "16", "--z-dim", "8", "--eval-n", "60"),
)
