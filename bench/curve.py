"""Print the scale curve (median wall time and peak RSS per command per scale) as Markdown."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def main() -> None:
    runs = sorted(
        (json.loads(Path(p).read_text()) for p in sys.argv[1:]),
        key=lambda d: int(d["label"].split()[0]),
    )
    if not runs:
        return
    commands = [r["command"] for r in runs[0]["results"]]
    print("\n### Scale curve (median wall time / peak RSS)\n")
    print("| command | " + " | ".join(d["label"] for d in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for name in commands:
        cells = []
        for d in runs:
            r = next((x for x in d["results"] if x["command"] == name), None)
            if r is None:
                cells.append("-")
                continue
            t = statistics.median(r["wall_s"])
            m = statistics.median(r["rss_bytes"]) / 2**20
            cells.append(f"{t:.2f} s / {m:.0f} MiB")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
