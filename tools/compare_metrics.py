"""Compare two ``depth-completion evaluate`` metrics.json files line count by line count.

Prints, per line count, the largest absolute difference of RMSE and MAE (mm) and of every other
summary metric, and exits 1 when any RMSE / MAE differs by more than ``--tolerance-mm``
(default 0.1 mm): the check that a refactor left the evaluation's numbers unchanged.

Usage: python tools/compare_metrics.py BEFORE.json AFTER.json [--tolerance-mm 0.1]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def _by_lines(path: Path) -> dict[int, dict[str, float]]:
    """line count -> summary metrics (rmse / mae in mm ...) of a metrics.json."""
    document = json.loads(path.read_text())
    return {int(entry["lines"]): dict(entry.get("metrics") or {})
            for entry in document["by_lines"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tolerance-mm", type=float, default=0.1)
    args = parser.parse_args(argv)
    before = _by_lines(args.before)
    after = _by_lines(args.after)
    worst = 0.0
    for lines in sorted(set(before) | set(after), reverse=True):
        a, b = before.get(lines, {}), after.get(lines, {})
        diffs = {k: abs(a[k] - b[k]) for k in a if isinstance(a.get(k), (int, float))
                 and isinstance(b.get(k), (int, float)) and not math.isnan(a[k])}
        mm = max((diffs.get(k, 0.0) for k in ("rmse", "mae")), default=0.0)
        worst = max(worst, mm)
        print(f"lines {lines:>2}: |d rmse| {diffs.get('rmse', float('nan')):.6f} mm, "
              f"|d mae| {diffs.get('mae', float('nan')):.6f} mm, largest of all metrics "
              f"{max(diffs.values(), default=0.0):.3g}")
    print(f"largest RMSE / MAE difference {worst:.6f} mm (tolerance {args.tolerance_mm} mm)")
    return 0 if worst <= args.tolerance_mm else 1


if __name__ == "__main__":
    sys.exit(main())
