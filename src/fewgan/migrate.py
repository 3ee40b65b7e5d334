"""Reading runs written by earlier fewgan versions.

Format 1 (fewgan 0.1 before typed options) saved one flat config dict: the engine's fields, the
image settings as top-level fields for every modality, and the table/series settings in "extra".
Each modality read only its own, so on migration a setting the run's modality has no option for
was unused by that run and is dropped; anything else unknown is an error, as for any config.
"""
from __future__ import annotations

from typing import Any

from .errors import UsageError

# Top-level fields of format 1 that moved into a modality's options (or were unused by it).
V1_MODALITY_FIELDS = ("res", "max_images", "conditional", "width", "spectral_norm", "aug_ops", "features",
                      "inception")


def config_v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
    from .config import TrainConfig
    from .modalities import get_plugin
    d = dict(d)
    plugin = get_plugin(d.pop("modality", "image"))
    settings = {k: d.pop(k) for k in V1_MODALITY_FIELDS if k in d}
    settings.update(d.pop("extra", None) or {})
    engine = set(TrainConfig.names())
    unknown = sorted(set(d) - engine)
    if unknown:
        raise UsageError(f"config has unknown keys {unknown}: was it written by a newer fewgan?")
    migrate = getattr(plugin.options, "migrate", None)
    if migrate is not None:
        settings = migrate(settings)
    mine = set(plugin.options.names())
    return {"format": 2, "modality": plugin.name, "engine": d,
            "options": {k: v for k, v in settings.items() if k in mine}}
