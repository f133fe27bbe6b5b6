"""Weights described next to the model that uses them, and the input spec they were trained on.

In the spirit of torchvision's ``WeightsEnum``: a registry entry lists :class:`WeightsSpec` values
(file under ``models/``, sha256, input spec, training data and recipe, scores, license); the first
is the model's default. The :class:`InputSpec` (crop, RGB normalisation, stride, depth scale) is
*stored* once, in the checkpoint's metadata (:mod:`depth_completion_ros.models.checkpoint`), and
compared at load with the spec the model's builder expects, which is the object a
:class:`WeightsSpec` names. Pure data: no torch import, so listing models stays cheap.

Example:
    >>> from depth_completion_ros.geometry.crop import KITTI_CROP
    >>> spec = InputSpec(crop=KITTI_CROP, stride=16)
    >>> InputSpec.from_dict(spec.as_dict()) == spec
    True
    >>> spec.differences(InputSpec(crop=KITTI_CROP, stride=8))
    ['stride: 16 vs 8']
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from depth_completion_ros.errors import CheckpointError, ConfigError
from depth_completion_ros.geometry.crop import Crop

RGB = tuple[float, float, float]
_INPUT_KEYS = ("crop_width", "crop_height", "stride", "rgb_mean", "rgb_std", "depth_scale")


@dataclass(frozen=True)
class InputSpec:
    """How a network wants its input (pixels, metres); trained weights fix it.

    Attributes:
        crop: bottom-centre crop of the network input (0 = full side), clamped to smaller
            images at inference.
        stride: height and width are zero-padded (right / bottom) up to a multiple of this.
        rgb_mean: per-channel mean subtracted from rgb / 255.
        rgb_std: per-channel std dividing it.
        depth_scale: metres per network depth unit (sparse input divided, output multiplied).

    Raises:
        ConfigError: a negative crop side, stride < 1, a std or depth scale <= 0, or
            mean / std without three values.
    """

    crop: Crop = Crop(0, 0)
    stride: int = 1
    rgb_mean: RGB = (0.485, 0.456, 0.406)
    rgb_std: RGB = (0.229, 0.224, 0.225)
    depth_scale: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if self.crop.width < 0 or self.crop.height < 0:
            problems.append(f"crop sides must be >= 0, got {self.crop}")
        if self.stride < 1:
            problems.append(f"stride must be >= 1, got {self.stride}")
        if len(self.rgb_mean) != 3 or len(self.rgb_std) != 3 or min(self.rgb_std) <= 0:
            problems.append(f"rgb_mean / rgb_std: 3 values each, std > 0, got "
                            f"{self.rgb_mean} / {self.rgb_std}")
        if not self.depth_scale > 0:
            problems.append(f"depth_scale must be > 0, got {self.depth_scale}")
        if problems:
            raise ConfigError("input spec: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        """Plain values (ints, floats, lists) for checkpoint metadata."""
        return {"crop_width": self.crop.width, "crop_height": self.crop.height,
                "stride": self.stride, "rgb_mean": list(self.rgb_mean),
                "rgb_std": list(self.rgb_std), "depth_scale": self.depth_scale}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> InputSpec:
        """Inverse of :meth:`as_dict`.

        Raises:
            ConfigError: missing or unknown keys, or values of the wrong kind.
        """
        if not isinstance(values, Mapping) or set(values) != set(_INPUT_KEYS):
            keys = sorted(values) if isinstance(values, Mapping) else type(values).__name__
            raise ConfigError(f"input spec: expected keys {sorted(_INPUT_KEYS)}, got {keys}")
        try:
            return cls(Crop(int(values["crop_width"]), int(values["crop_height"])),
                       int(values["stride"]), _rgb(values["rgb_mean"]),
                       _rgb(values["rgb_std"]), float(values["depth_scale"]))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"input spec: malformed values {dict(values)}: {err}") from err

    def differences(self, other: InputSpec) -> list[str]:
        """``"field: mine vs other"`` for each field that differs (empty when equal)."""
        return [f"{f.name}: {getattr(self, f.name)} vs {getattr(other, f.name)}"
                for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def _rgb(values: Any) -> RGB:
    r, g, b = (float(v) for v in values)
    return r, g, b


_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class WeightsSpec:
    """One set of published weights of a model (torchvision ``Weights`` spirit).

    Attributes:
        name: short identifier, e.g. ``"kitti_heldout32_v1"``.
        file: checkpoint file name under ``models/``.
        sha256: hex digest of the file (checked before the file is loaded).
        input_spec: what the weights were trained on; the builder's expected spec (the
            checkpoint stores the same and load compares them).
        training_data: data set(s) and split.
        recipe: the command (or document) that trained them.
        scores: measured scores, name -> value, units in the name (``"rmse_mm"``).
        license: license of the weights (they inherit the training data's).
        config: the model config fields the weights were trained with (those that shape the
            network, e.g. a small variant's widths); used under the caller's own overrides
            when these weights are loaded by default.

    Raises:
        ConfigError: ``sha256`` is not 64 lowercase hex digits or ``file`` is not a bare name.
    """

    name: str
    file: str
    sha256: str
    input_spec: InputSpec
    training_data: str
    recipe: str
    scores: dict[str, float] = field(default_factory=dict, hash=False)
    license: str = ""
    config: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ConfigError(f"weights {self.name!r}: sha256 must be 64 lowercase hex digits, "
                              f"got {self.sha256!r}")
        if Path(self.file).name != self.file:
            raise ConfigError(f"weights {self.name!r}: file must be a name under models/, "
                              f"got {self.file!r}")

    def path(self) -> Path:
        """Where the file lives (``models/`` of the checkout or of the installed share)."""
        from depth_completion_ros.paths import models_dir
        return models_dir() / self.file

    def verify(self, path: Path | None = None) -> Path:
        """Check that the file exists and has the declared sha256; returns its path.

        Raises:
            CheckpointError: missing file, or a digest other than :attr:`sha256`.
        """
        path = self.path() if path is None else Path(path)
        if not path.is_file():
            raise CheckpointError(f"weights {self.name!r}: {path} does not exist (see "
                                  f"models/README.md for how to get it)")
        digest = file_sha256(path)
        if digest != self.sha256:
            raise CheckpointError(f"weights {self.name!r}: {path} has sha256 {digest}, expected "
                                  f"{self.sha256} (another or a corrupted file)")
        return path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
