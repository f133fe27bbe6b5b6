"""Names shared by the node, the sync policy and the evaluation: modes, pairing reasons, frame
statuses, input-error kinds and the keys of ``/diagnostics``.

Each is a ``str`` enum, so a value prints and serialises as its plain string (``"completion"``)
and a misspelt name fails at import, not silently at run time.

Example:
    >>> Mode.COMPLETION == "completion"
    True
    >>> f"{FrameStatus.NOT_SERVABLE}: no RGB-only model"
    'not servable: no RGB-only model'
"""
from __future__ import annotations

from enum import Enum


class _Name(str, Enum):
    """A string-valued name (``str(member)`` is its value)."""

    def __str__(self) -> str:
        return str(self.value)


class Mode(_Name):
    """How a frame was served: with LiDAR (completion) or without (prediction); idle = none."""

    COMPLETION = "completion"
    PREDICTION = "prediction"
    IDLE = "idle"


class Tier(_Name):
    """Which source served a frame's depth (the LiDAR-dropout policy, ``dropout/policy.py``):
    its own scan, the most recent scan while it is young enough, the image alone; none = no
    tier could serve it (skipped and counted)."""

    COMPLETION = "completion"
    STALE_SCAN = "stale_scan"
    RGB_ONLY = "rgb_only"
    NONE = "none"


class Pairing(_Name):
    """Why the sync policy released an image: a cloud matched it, the LiDAR timed out (prediction
    mode), or no cloud within ``slop`` arrived in ``max_wait``; or why it released a cloud
    alone (LiDAR-driven, no image)."""

    MATCHED = "matched"
    LIDAR_TIMEOUT = "lidar_timeout"
    UNMATCHED = "unmatched"
    LIDAR_DRIVEN = "lidar_driven"  # a cloud released alone, no image (LiDAR-driven trigger)


class Trigger(_Name):
    """What releases the node's frames (``sync/trigger.py``): ``image`` (each image, paired with
    its cloud), ``lidar`` (each cloud, without an image, for models that need none) or ``auto``
    (image-driven while images arrive or the model needs one, else LiDAR-driven)."""

    AUTO = "auto"
    IMAGE = "image"
    LIDAR = "lidar"


class FrameStatus(_Name):
    """Outcome of one evaluated frame (a row of the evaluation's CSV / JSON)."""

    SCORED = "scored"
    NO_GROUND_TRUTH = "no ground truth"
    NO_CLOUD = "no cloud paired"
    NOT_SERVABLE = "not servable"
    NOT_DELIVERED = "not delivered"
    BAD_MESSAGE = "bad message"
    RINGS_REFUSED = "rings refused"


class InputKind(_Name):
    """Kinds of skipped inputs the node counts (``input_errors.<kind>`` in /diagnostics)."""

    IMAGE = "image"
    POINTS = "points"
    CAMERA_INFO = "camera_info"
    ODOMETRY = "odometry"
    STAMPS_BACKWARDS = "stamps_backwards"
    UNSERVED = "unserved"
    INTERNAL = "internal"


class DiagnosticKey(_Name):
    """Keys of the node's /diagnostics status (see docs/node.md)."""

    MODE = "mode"
    TIER = "tier"
    SCAN_AGE_S = "scan_age_s"
    MODEL = "model"
    DEVICE = "device"
    LIDAR_AGE_S = "lidar_age_s"
    POINTS_IN_VIEW = "points_in_view"
    DENSITY = "density"
    LATENCY_P50_MS = "latency_p50_ms"
    LATENCY_P95_MS = "latency_p95_ms"
    FRAMES_SERVED = "frames_served"
    FRAMES_DROPPED = "frames_dropped"
    FRAMES_UNSERVED = "frames_unserved"
    INPUT_ERRORS = "input_errors"
    LAST_ERROR = "last_error"
    MODEL_ERROR = "model_error"
    DROPOUT_MODEL_ERROR = "dropout_model_error"

    def of(self, kind: InputKind) -> str:
        """The per-kind key ``input_errors.<kind>`` (only for :attr:`INPUT_ERRORS`)."""
        return f"{self.value}.{kind.value}"
