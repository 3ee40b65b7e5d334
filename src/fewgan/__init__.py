"""fewgan: GANs that learn from little data."""
from .api import ImageGAN, SeriesGAN
from .config import TrainConfig
from .errors import UsageError

__version__ = "0.1.0"
__all__ = ["ImageGAN", "SeriesGAN", "TrainConfig", "UsageError", "__version__"]
