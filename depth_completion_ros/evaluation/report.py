"""Markdown report with matplotlib figures, and the metrics table printed to the terminal."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from depth_completion_ros.evaluation.offline import Snapshot  # noqa: E402
from depth_completion_ros.evaluation.results import (DEVKIT_NAMES, LinesSummary,  # noqa: E402
                                                     devkit_dict)

KITTI_ATTRIBUTION = (
    "KITTI data: Geiger, Lenz, Stiller, Urtasun, \"Vision meets Robotics: The KITTI Dataset\", "
    "IJRR 2013, licensed CC BY-NC-SA 3.0 (non-commercial, attribution, share-alike); the images "
    "and maps in this report derive from it and carry the same license.")
_COLUMNS = [n for n in DEVKIT_NAMES.values() if n != "num_pixels"]


def metrics_table(summaries: list[LinesSummary]) -> str:
    """Plain-text table: one line per line count with every devkit metric and latency."""
    header = ["lines", "frames", *_COLUMNS, "pixels", "p50 ms", "p95 ms", "skipped"]
    lines = [header]
    for s in summaries:
        values = devkit_dict(s.metrics)
        cells = [_fmt(values[c] if values else None, c) for c in _COLUMNS]
        pixels = str(values["num_pixels"]) if values else "-"
        skipped = ", ".join(f"{n} {k.split(':')[0]}" for k, n in s.skipped.items()) or "-"
        lines.append([str(s.lines), str(s.scored), *cells, pixels, _fmt(s.latency_ms_median, ""),
                      _fmt(s.latency_ms_p95, ""), skipped])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in lines)


def _fmt(value: float | None, name: str) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.4f}" if name.startswith(("delta", "abs", "sq")) else f"{value:.1f}"


def write_report(folder: str | Path, summaries: list[LinesSummary], snapshots: list[Snapshot],
                 meta: dict[str, Any]) -> Path:
    """Write ``report.md`` and its PNG figures into ``folder``; returns the report path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = [_plot_lines(folder, summaries), _plot_bins(folder, summaries)]
    figures += [_plot_snapshot(folder, s, meta.get("max_depth_m", 80.0)) for s in snapshots]
    text = [f"# Depth completion evaluation: {meta.get('model', '?')}", "",
            *(f"- {k}: {v}" for k, v in meta.items()), "",
            "## Metrics (devkit: mean over frames; rmse, mae in mm; irmse, imae in 1/km)", "",
            "```", metrics_table(summaries), "```", "",
            "## Figures", "", *(f"![{p.stem}]({p.name})" for p in figures if p), "",
            "## Data license", "", KITTI_ATTRIBUTION, ""]
    path = folder / "report.md"
    path.write_text("\n".join(text))
    return path


def _plot_lines(folder: Path, summaries: list[LinesSummary]) -> Path | None:
    points = [(s.lines, s.metrics.rmse_mm / 1e3) for s in summaries if s.metrics is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(*zip(*points), marker="o")
    ax.set(xlabel="LiDAR lines given to the model", ylabel="RMSE (m)", title="RMSE vs lines")
    ax.invert_xaxis()
    return _save(fig, folder / "rmse_vs_lines.png")


def _plot_bins(folder: Path, summaries: list[LinesSummary]) -> Path | None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s in summaries:
        labels = [k for k, v in s.bins.items() if v is not None]
        if labels:
            ax.plot(labels, [s.bins[k].rmse_mm / 1e3 for k in labels], marker="o",
                    label=f"{s.lines} lines")
    ax.set(xlabel="ground-truth distance", ylabel="RMSE (m)", title="RMSE vs distance")
    ax.legend(fontsize="small")
    return _save(fig, folder / "rmse_vs_distance.png")


def _plot_snapshot(folder: Path, snap: Snapshot, max_depth: float) -> Path:
    """RGB, predicted depth, confidence and |error| at ground-truth pixels of one frame."""
    error = np.where(snap.groundtruth > 0, np.abs(snap.depth - snap.groundtruth), 0.0)
    error = cv2.dilate(error.astype(np.float32), np.ones((3, 3), np.uint8))  # visible dots
    error[cv2.dilate((snap.groundtruth > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) == 0] \
        = np.nan
    fig, axes = plt.subplots(4, 1, figsize=(9, 8.5))
    panels = [(snap.rgb, None, "RGB"),
              (snap.depth, ("turbo", 0, max_depth), "depth (m)"),
              (snap.confidence, ("viridis", 0, 1), "confidence"),
              (error, ("magma", 0, 5), "|error| at ground-truth pixels (m)")]
    for ax, (image, cmap, title) in zip(axes, panels):
        shown = ax.imshow(image) if cmap is None else \
            ax.imshow(np.where(image > 0, image, np.nan) if title.startswith("depth") else image,
                      cmap=cmap[0], vmin=cmap[1], vmax=cmap[2], interpolation="nearest")
        if cmap is not None:
            fig.colorbar(shown, ax=ax, fraction=0.02)
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    fig.suptitle(f"frame {snap.frame}, {snap.lines} lines")
    return _save(fig, folder / f"frame_{snap.frame:04d}_lines_{snap.lines}.png")


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
