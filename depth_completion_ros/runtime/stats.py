"""Running figures of the node: what /diagnostics reports, kept without ROS.

:class:`NodeStats` is thread-safe (the worker records frames, callbacks record input errors, a
timer reads a :class:`StatsSnapshot`); :func:`snapshot_fields` gives the key / value strings under
the shared :class:`~depth_completion_ros.status.DiagnosticKey` names, and
:mod:`depth_completion_ros.ros.diagnostics` turns them into a DiagnosticArray.
"""
from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from depth_completion_ros.status import DiagnosticKey as Key
from depth_completion_ros.status import InputKind, Mode, Tier

IDLE = Mode.IDLE
OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels (bytes in the message)


@dataclass(frozen=True)
class StatsSnapshot:
    """What /diagnostics reports at one moment (latencies ms, ages s)."""

    mode: str
    model: str
    device: str
    lidar_age_s: float
    points_in_view: int
    density: float
    latency_p50_ms: float
    latency_p95_ms: float
    frames_served: int
    frames_dropped: int
    frames_unserved: int
    input_errors: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    model_error: str = ""
    tier: str = ""
    scan_age_s: float = float("nan")
    served_by_tier: dict[str, int] = field(default_factory=dict)
    dropout_model_error: str = ""

    def level(self) -> int:
        """OK in completion; WARN in prediction, on a stale scan, when idle or after a failed
        model load (the dropout model's too)."""
        if self.model_error or self.dropout_model_error or self.mode != Mode.COMPLETION or \
                self.tier not in ("", Tier.COMPLETION):
            return WARN
        return OK


class NodeStats:
    """Counters and a latency window; ``idle_after`` seconds without a frame reads as idle."""

    def __init__(self, window: int = 200, idle_after: float = 2.0) -> None:
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=window)
        self._idle_after = idle_after
        self._last: tuple[float, str, str, int, float] | None = None  # time, mode, model, pts, d
        self._tier: tuple[str, float] = ("", float("nan"))  # tier, scan age of the last frame
        self.by_tier: Counter[str] = Counter()
        self.served = 0
        self.unserved = 0
        self.errors: Counter[str] = Counter()
        self.last_error = ""

    def record_frame(self, now: float, mode: str, model: str, latency_ms: float,
                     points_in_view: int, density: float, tier: str = "",
                     scan_age_s: float | None = None) -> None:
        """A frame was published (``latency_ms`` from image arrival to publication), served
        by ``tier`` from a scan ``scan_age_s`` seconds from the image (None: no scan)."""
        with self._lock:
            self._latencies.append(latency_ms)
            self._last = (now, mode, model, points_in_view, density)
            self._tier = (tier, float("nan") if scan_age_s is None else scan_age_s)
            if tier:
                self.by_tier[tier] += 1
            self.served += 1

    def record_error(self, kind: InputKind, message: str) -> None:
        """A bad input of ``kind`` was skipped (or a frame unserved / failed internally)."""
        with self._lock:
            self.errors[str(kind)] += 1
            self.last_error = message

    def record_unserved(self, message: str) -> None:
        """A frame no model could serve (prediction mode without an RGB-only model)."""
        with self._lock:
            self.unserved += 1
            self.last_error = message

    def snapshot(self, now: float, *, device: str, lidar_age_s: float, dropped: int,
                 model_error: str = "", model: str = "",
                 dropout_model_error: str = "") -> StatsSnapshot:
        """Figures as of ``now`` (the same clock as :meth:`record_frame`)."""
        with self._lock:
            lat = np.asarray(self._latencies, dtype=np.float64)
            p50, p95 = (np.percentile(lat, [50, 95]) if lat.size else (np.nan, np.nan))
            last = self._last
            fresh = last if last is not None and now - last[0] < self._idle_after else None
            return StatsSnapshot(
                mode=fresh[1] if fresh else IDLE, model=model or (last[2] if last else ""),
                device=device, lidar_age_s=lidar_age_s, points_in_view=fresh[3] if fresh else 0,
                density=fresh[4] if fresh else 0.0, latency_p50_ms=float(p50),
                latency_p95_ms=float(p95), frames_served=self.served, frames_dropped=dropped,
                frames_unserved=self.unserved, input_errors=dict(self.errors),
                last_error=self.last_error, model_error=model_error,
                tier=self._tier[0] if fresh else "",
                scan_age_s=self._tier[1] if fresh else float("nan"),
                served_by_tier=dict(self.by_tier), dropout_model_error=dropout_model_error)


def snapshot_fields(snap: StatsSnapshot) -> list[tuple[str, str]]:
    """(key, value) strings of a snapshot, in a stable order."""
    fields: list[tuple[str, str]] = [
        (Key.MODE, str(snap.mode)), (Key.MODEL, snap.model), (Key.DEVICE, snap.device),
        (Key.TIER, snap.tier or str(IDLE)), (Key.SCAN_AGE_S, f"{snap.scan_age_s:.3f}"),
        (Key.LIDAR_AGE_S, f"{snap.lidar_age_s:.3f}"),
        (Key.POINTS_IN_VIEW, str(snap.points_in_view)), (Key.DENSITY, f"{snap.density:.5f}"),
        (Key.LATENCY_P50_MS, f"{snap.latency_p50_ms:.1f}"),
        (Key.LATENCY_P95_MS, f"{snap.latency_p95_ms:.1f}"),
        (Key.FRAMES_SERVED, str(snap.frames_served))]
    fields += [(f"{Key.FRAMES_SERVED}.{t}", str(snap.served_by_tier.get(t, 0)))
               for t in (Tier.COMPLETION, Tier.STALE_SCAN, Tier.RGB_ONLY)]
    fields += [(Key.FRAMES_DROPPED, str(snap.frames_dropped)),
               (Key.FRAMES_UNSERVED, str(snap.frames_unserved)),
               (Key.INPUT_ERRORS, str(sum(snap.input_errors.values())))]
    named = [(f"{Key.INPUT_ERRORS}.{k}", str(v)) for k, v in sorted(snap.input_errors.items())]
    tail = [(Key.LAST_ERROR, snap.last_error), (Key.MODEL_ERROR, snap.model_error),
            (Key.DROPOUT_MODEL_ERROR, snap.dropout_model_error)]
    return [(str(k), v) for k, v in fields] + named + [(str(k), v) for k, v in tail]
