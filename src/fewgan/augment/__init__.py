"""Augmentation that only the discriminator sees (DiffAugment ops, ADA-controlled probability)."""
from .ada import AdaController
from .diffaug import DiffAugment

__all__ = ["AdaController", "DiffAugment"]
