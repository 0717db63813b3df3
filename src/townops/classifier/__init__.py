"""The Chinese text classifier of automatic dispatch (自动指令): message text → first-level
category (一级分类) with calibrated probabilities. See docs/classifier.md.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.classifier``, never its modules (the ``protected`` contracts of .importlinter).
"""

# Importing this package loads model.py (numpy, scipy), never scikit-learn or jieba
# (training.py, segment.py: only when training). So it re-exports from model.py eagerly
# and stays light enough; dispatch keeps it lazy by importing ``townops.classifier``
# inside the function that first needs the model (dispatch/service.py).
from townops.classifier.model import load_default

__all__ = ["load_default"]
