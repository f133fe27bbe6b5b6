"""Markdown report with matplotlib figures, and the metrics table printed to the terminal."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# mpl_toolkits (shipped with matplotlib) has no py.typed marker, unlike matplotlib itself
from mpl_toolkits.axes_grid1 import make_axes_locatable  # type: ignore[import-untyped]  # noqa: E402

from depth_completion_ros.arrays import Float32Array  # noqa: E402
from depth_completion_ros.evaluation.data_label import KITTI_ATTRIBUTION, DataLabel  # noqa: E402
from depth_completion_ros.evaluation.offline import Snapshot  # noqa: E402
from depth_completion_ros.evaluation.results import DEVKIT_NAMES, LinesSummary, devkit_dict  # noqa: E402
from depth_completion_ros.geometry.beams import SWEEP_LINES  # noqa: E402
from depth_completion_ros.paths import REPO_ROOT  # noqa: E402

__all__ = ["KITTI_ATTRIBUTION", "append_section", "display_path", "error_points", "line_tick",
           "metrics_table", "node_section", "snapshot_title", "write_report"]
_COLUMNS = [n for n in DEVKIT_NAMES.values() if n != "num_pixels"]


def display_path(path: str | Path) -> str:
    """``path`` relative to the current directory, else to the repository, else as ``../..``
    relative: what reports and summaries print (never this machine's absolute path)."""
    resolved = Path(path).resolve()
    for base in (Path.cwd().resolve(), REPO_ROOT.resolve()):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base)) or "."
    return Path(os.path.relpath(resolved)).as_posix()


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
                 meta: dict[str, Any], label: DataLabel) -> Path:
    """Write ``report.md`` and its PNG figures into ``folder``; returns the report path.

    ``label`` names the data in every figure title and the "Data license" section
    (:func:`~depth_completion_ros.evaluation.data_label.data_label`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = [_plot_lines(folder, summaries, label), _plot_bins(folder, summaries, label)]
    figures += [_plot_snapshot(folder, s, meta.get("max_depth_m", 80.0), label)
                for s in snapshots]
    text = [f"# Depth completion evaluation: {meta.get('model', '?')}", "",
            *(f"- {k}: {v}" for k, v in meta.items() if k != "node"), "",
            *node_section(meta.get("node")),
            "## Metrics (devkit: mean over frames; rmse, mae in mm; irmse, imae in 1/km)", "",
            "```", metrics_table(summaries), "```", "",
            "## Figures", "", *(f"![{p.stem}]({p.name})" for p in figures if p), "",
            "## Data license", "", label.notice, ""]
    path = folder / "report.md"
    path.write_text("\n".join(text))
    return path


def append_section(report: Path, title: str, body: list[str]) -> None:
    """Insert a ``## title`` section with ``body`` lines before the report's license section."""
    text = report.read_text()
    head, sep, tail = text.partition("## Data license")
    report.write_text(head + "\n".join([f"## {title}", "", *body, "", ""]) + sep + tail)


def node_section(node: dict[str, Any] | None) -> list[str]:
    """Markdown lines of the live node's table (frame account, latency, memory); none offline."""
    if not node:
        return []
    return ["## Live node (every image sent accounted for)", "", "| figure | value |",
            "|---|---|", *(f"| {k} | {v} |" for k, v in node.items()), ""]


def line_tick(lines: int, summary: LinesSummary | None) -> str:
    """Tick label of one line count: the count, and why there is no point when there is none."""
    if summary is None:
        return f"{lines}\n(not scored)"
    if summary.metrics is not None:
        return str(lines)
    reasons = [k.split(":")[0] for k in summary.skipped]
    return f"{lines}\n({reasons[0] if reasons else 'no frame'})"


def _plot_lines(folder: Path, summaries: list[LinesSummary], label: DataLabel) -> Path | None:
    """RMSE per line count on a categorical axis (64 ... 0), a point where there are scores;
    no figure when a single line count was evaluated."""
    by_lines = {s.lines: s for s in summaries}
    points = [(i, metrics.rmse_mm / 1e3) for i, n in enumerate(SWEEP_LINES)
              if n in by_lines and (metrics := by_lines[n].metrics) is not None]
    if len(summaries) < 2 or not points:  # one line count: the table says it all
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(*zip(*points), marker="o")
    ax.set_xticks(range(len(SWEEP_LINES)),
                  [line_tick(n, by_lines.get(n)) for n in SWEEP_LINES], fontsize="small")
    ax.set_xlim(-0.5, len(SWEEP_LINES) - 0.5)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set(xlabel="LiDAR lines given to the model (0 = LiDAR dropout)", ylabel="RMSE (m)",
           title=f"RMSE vs lines ({label.title})")
    return _save(fig, folder / "rmse_vs_lines.png")


def _plot_bins(folder: Path, summaries: list[LinesSummary], label: DataLabel) -> Path | None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s in summaries:
        scored = {k: v for k, v in s.bins.items() if v is not None}
        if scored:
            ax.plot(list(scored), [m.rmse_mm / 1e3 for m in scored.values()], marker="o",
                    label=f"{s.lines} lines")
    ax.set_ylim(bottom=0)
    ax.set(xlabel="ground-truth distance", ylabel="RMSE (m)",
           title=f"RMSE vs distance\n({label.title})")
    if ax.get_lines():  # nothing scored: no legend (matplotlib warns about an empty one)
        ax.legend(fontsize="small")
    return _save(fig, folder / "rmse_vs_distance.png")


def error_points(snap: Snapshot, radius: int = 2) -> Float32Array:
    """(H, W) |prediction - ground truth| in metres at ground-truth pixels, each dilated to a
    (2 radius + 1)^2 dot (largest error wins), NaN elsewhere."""
    valid = snap.groundtruth > 0
    error = np.where(valid, np.abs(snap.depth - snap.groundtruth), 0.0).astype(np.float32)
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    dots = np.asarray(cv2.dilate(error, kernel), np.float32)  # float32 already (cv2): no copy
    dots[cv2.dilate(valid.astype(np.uint8), kernel) == 0] = np.nan
    return dots


def snapshot_title(snap: Snapshot, label: DataLabel) -> str:
    """Title of a frame's figure: frame, line count and the data's label."""
    return f"frame {snap.frame}, {snap.lines} LiDAR lines in ({label.title})"


def _plot_snapshot(folder: Path, snap: Snapshot, max_depth: float, label: DataLabel) -> Path:
    """RGB, predicted depth, confidence and |error| (dots over a grey image) of one frame, all
    the same crop and width, each with its colour bar."""
    grey = cv2.cvtColor(snap.rgb, cv2.COLOR_RGB2GRAY)
    error = error_points(snap)
    error_max = max(1.0, float(np.nanpercentile(error, 98))) if np.isfinite(error).any() else 1.0
    panels = [(snap.rgb, None, "RGB (scored crop)"),
              (np.where(snap.depth > 0, snap.depth, np.nan), ("turbo", 0, max_depth),
               "predicted depth (m)"),
              (snap.confidence, ("viridis", 0, 1), "confidence (0-1)"),
              (error, ("plasma", 0, error_max), "|error| at ground-truth pixels (m)")]
    height, width = snap.rgb.shape[:2]
    fig, axes = plt.subplots(4, 1, figsize=(10, 4 * 10 * height / width + 1.2))
    for ax, (image, cmap, title) in zip(axes, panels):
        cax = make_axes_locatable(ax).append_axes("right", size="2%", pad=0.08)
        if title.startswith("|error|"):
            ax.imshow(grey, cmap="gray", vmin=0, vmax=255)
        shown = ax.imshow(image, interpolation="nearest", **({} if cmap is None else dict(
            cmap=cmap[0], vmin=cmap[1], vmax=cmap[2])))
        if cmap is None:
            cax.axis("off")
        else:
            fig.colorbar(shown, cax=cax)
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    fig.suptitle(snapshot_title(snap, label))
    return _save(fig, folder / f"frame_{snap.frame:04d}_lines_{snap.lines}.png")


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
