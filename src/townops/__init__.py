"""townops: one case engine for every problem a town learns of."""

__version__ = "0.1.0"
