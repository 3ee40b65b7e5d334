"""fewgan: GANs that learn from little data."""
from .api import ImageGAN, SeriesGAN, TableGAN
from .config import TrainConfig
from .errors import UsageError

__version__ = "0.1.0"
__all__ = ["ImageGAN", "SeriesGAN", "TableGAN", "TrainConfig", "UsageError", "__version__"]
