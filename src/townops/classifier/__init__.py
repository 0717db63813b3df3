"""The Chinese text classifier of automatic dispatch (自动指令): message text → first-level
category (一级分类) with calibrated probabilities. See docs/classifier.md."""

from townops.classifier.model import TextClassifier, load_default

__all__ = ["TextClassifier", "load_default"]
