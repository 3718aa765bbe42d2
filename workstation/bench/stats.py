"""Medians, percentiles and the printed table."""

from __future__ import annotations

import math
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Figure:
    name: str
    unit: str
    samples: list[float]
    baseline_name: str = ""
    baseline_samples: list[float] = field(default_factory=list)
    goal: str = ""
    notes: str = ""
    compare: str = "median"  # the statistic the ratio to the baseline compares: median or p95
    required: bool = True  # False: no samples is an outcome ("not reached"), not a failure

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else math.nan

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_samples) if self.baseline_samples else math.nan

    @property
    def baseline_p95(self) -> float:
        return percentile(self.baseline_samples, 95)

    @property
    def ratio(self) -> float:
        ours, base = ((self.p95, self.baseline_p95) if self.compare == "p95"
                      else (self.median, self.baseline_median))
        return ours / base if base and not math.isnan(base) else math.nan

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(median=self.median, p95=self.p95, p99=self.p99, max=self.max,
                    baseline_median=self.baseline_median, baseline_p95=self.baseline_p95,
                    ratio=self.ratio,
                    count=len(self.samples))
        data.pop("samples")
        data.pop("baseline_samples")
        return data


def machine() -> dict[str, Any]:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def table(figures: Sequence[Figure]) -> str:
    rows = [("measurement", "median", "p95", "p99", "max", "baseline", "ratio", "goal")]
    for f in figures:
        rows.append((
            f.name, f"{f.median:.2f} {f.unit}", f"{f.p95:.2f}", f"{f.p99:.2f}", f"{f.max:.2f}",
            (f"{f.baseline_p95 if f.compare == 'p95' else f.baseline_median:.2f}"
             f"{' p95' if f.compare == 'p95' else ''} ({f.baseline_name})")
            if f.baseline_samples else "-",
            f"{f.ratio:.2f}x" if not math.isnan(f.ratio) else "-", f.goal,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
