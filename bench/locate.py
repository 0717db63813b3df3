"""How fast and how well the gazetteer places realistic addresses (``townops locate``).

    python bench/locate.py [--count 1000] [--seed 7] [--database-url URL]

The addresses come from ``townops.demo.addresses``: estates with house and room
numbers, roads with 号/弄 (some in full-width digits or with spaces), communities,
landmarks, crossings, typos, and texts naming no place or only an ambiguous road. They are
drawn from the same name lists the gazetteer holds, so the accuracy is optimistic; real
call transcripts will do worse. The database must hold the town (``townops town load``).
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy.orm import Session

from townops.db import make_engine
from townops.demo.addresses import realistic_addresses, score
from townops.gazetteer.service import locate_text
from townops.settings import get_settings
from townops.townfiles.loader import default_town_dir, load_town


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the texts")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or get_settings().database_url
    town = load_town(get_settings().town_dir or default_town_dir())
    samples = realistic_addresses(town, args.count, seed=args.seed)
    texts = [s.text for s in samples]
    with Session(make_engine(url)) as session:
        locate_text(session, "森兰名轩")  # builds the index once, as a running server would
        timings = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for text in texts:
                locate_text(session, text)
            timings.append(time.perf_counter() - started)
        result = score(session, samples)
    best = min(timings)
    median = sorted(timings)[len(timings) // 2]
    print(f"database: {url}")
    print(f"texts: {len(texts)} (mean {sum(map(len, texts)) / len(texts):.1f} characters)")
    print(
        f"locate_text: {len(texts) / best:,.0f} texts/s on one core "
        f"(best of {args.rounds} passes; median {len(texts) / median:,.0f})"
    )
    print(
        f"placed right: {result.right / result.total:.1%}  placed wrong: "
        f"{result.wrong / result.total:.1%}  left to a dispatcher: "
        f"{result.left_to_dispatcher / result.total:.1%}"
    )
    for kind, counter in sorted(result.by_kind.items()):
        total = sum(counter.values())
        print(
            f"  {kind:<15} n={total:<4} right {counter['right'] / total:6.1%}  "
            f"wrong {counter['wrong'] / total:6.1%}  left {counter['left'] / total:6.1%}"
        )


if __name__ == "__main__":
    main()
