"""The message classifier: held-out quality and prediction speed on one core.

    .venv/bin/python bench/classify.py [--data DIR] [--model PATH]

Prints the held-out macro-F1 and accuracy (the 20 % of labeled.csv never trained on),
the model's load time and file size, and the throughput over all the real messages of the
gov-messages data (about 11,000: labelled and unlabelled), including normalisation and
n-gram matching, in one process with one thread: in batches and one message per call.
"""

from __future__ import annotations

import os

# One core, one thread: set before numpy and scipy load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from townops.classifier import corpus  # noqa: E402
from townops.classifier.evaluation import evaluate  # noqa: E402
from townops.classifier.model import TextClassifier, shipped_model_path  # noqa: E402


def all_messages(data_dir: Path) -> list[str]:
    """Every message of the four files, as the classifier would see it (title。detail)."""
    texts = [m.text for m in corpus.read_labeled(data_dir)]
    for name in corpus.UNLABELED_FILES:
        _, rows = corpus.read_rows(data_dir / name)
        texts += [corpus.compose_text(r["留言主题"] or "", r["留言详情"] or "") for r in rows]
    return texts


def throughput(model: TextClassifier, texts: list[str], batch: int) -> tuple[float, float]:
    """(texts per second of wall-clock time, of this process's CPU time): best of 3 runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(texts), batch):
            model.predict_proba(texts[start : start + batch])
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(texts) / best_wall, len(texts) / best_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=corpus.default_data_dir())
    parser.add_argument("--model", type=Path, default=shipped_model_path())
    parser.add_argument(
        "--cv",
        action="store_true",
        help="also cross-validate the recipe on the train part (~3 min)",
    )
    args = parser.parse_args()
    if not (args.data / corpus.LABELED_FILE).is_file():
        print(f"the gov-messages data is not at {args.data}; give it with --data")
        return 2

    started = time.perf_counter()
    model = TextClassifier.load(args.model)
    load_seconds = time.perf_counter() - started
    print(f"model {model.version}: {args.model} ({args.model.stat().st_size / 1e6:.2f} MB)")
    print(f"  {model.n_features} features, {len(model.labels)} labels")
    print(f"  loaded in {load_seconds * 1000:.0f} ms")

    _, heldout = corpus.heldout_split(corpus.read_labeled(args.data))
    report = evaluate(model, [m.text for m in heldout], [m.label for m in heldout])
    print(f"held-out: {len(heldout)} messages of labeled.csv, never trained on")
    print(f"  macro-F1 {report.macro_f1:.4f}, accuracy {report.accuracy:.4f}")
    for b in report.reliability:
        accuracy = "—" if b.accuracy is None else f"{b.accuracy:.3f}"
        span = f"{b.low:.1f}–{b.high:.1f}"
        print(f"  top probability {span}: {b.count:4d} messages, accuracy {accuracy}")

    texts = all_messages(args.data)
    chars = sum(map(len, texts)) / len(texts)
    print(f"throughput, one thread, over {len(texts)} real messages ({chars:.0f} characters each):")
    for batch in (len(texts), 256, 1):
        wall, cpu = throughput(model, texts, batch)
        label = "all at once" if batch == len(texts) else f"batches of {batch}"
        print(f"  {label:>16}: {wall:8.0f} texts/s wall, {cpu:8.0f} texts/s CPU")
    if args.cv:
        print_cross_validation(args.data)
    return 0


def print_cross_validation(data_dir: Path) -> None:
    from townops.classifier.training import cross_validate, read_shipped_data

    scores = np.array(cross_validate(read_shipped_data(data_dir)))
    error = scores.std() / np.sqrt(len(scores))
    print("cross-validation of the recipe on the train part, 5-fold x 2:")
    print(f"  macro-F1 {scores.mean():.4f} ± {error:.4f}")


if __name__ == "__main__":
    sys.exit(main())
