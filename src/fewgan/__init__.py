"""fewgan: GANs that learn from little data."""
from .api import ImageGAN, TableGAN
from .config import TrainConfig
from .errors import UsageError

__version__ = "0.1.0"
__all__ = ["ImageGAN", "TableGAN", "TrainConfig", "UsageError", "__version__"]
