"""Domain errors of depth_completion_ros.

Library code raises these, with the offending file, field and value in the message; the
command-line layer turns them into exit codes and the node into a logged, skipped frame.
"""
from __future__ import annotations


class DepthCompletionError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(DepthCompletionError, ValueError):
    """An array, message or parameter does not have the expected shape, type or value."""


class CalibrationError(DepthCompletionError):
    """A calibration file or camera model is malformed or inconsistent."""


class DataFormatError(DepthCompletionError):
    """A data file (scan, image, depth PNG, bag) is malformed or of the wrong kind."""


class ModelError(DepthCompletionError):
    """A model cannot be found, built or run."""


class CheckpointError(ModelError):
    """A checkpoint file is missing, malformed or does not match the model."""


class MissingWeightsError(ModelError):
    """A learned model got no checkpoint and ships no weights; the message says where they come
    from."""


class ConfigError(DepthCompletionError):
    """A configuration (preset, typed config) has unknown keys or invalid values."""
