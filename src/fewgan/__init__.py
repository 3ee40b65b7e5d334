"""fewgan: GANs that learn from little data.

Importing fewgan imports neither torch nor any modality: the API classes (ImageGAN, TableGAN,
SeriesGAN, ... one per registered modality) are loaded on first access.
"""
from .errors import UsageError

__version__ = "0.1.0"


def _api_classes() -> dict[str, str]:
    from .modalities import plugins
    return {p.api_name: p.api for p in plugins().values()}


def __getattr__(name: str):
    if name == "__all__":
        return ["TrainConfig", "UsageError", "__version__", *_api_classes()]
    if name == "TrainConfig":
        from .config import TrainConfig
        return TrainConfig
    api = _api_classes().get(name)
    if api is None:
        raise AttributeError(f"module 'fewgan' has no attribute {name!r}")
    from .modalities import load_attr
    return load_attr(api)


def __dir__():
    return sorted([*globals(), "TrainConfig", *_api_classes()])

