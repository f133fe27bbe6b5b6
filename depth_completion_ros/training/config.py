"""The training config: frozen dataclasses built from a YAML file plus ``--set`` overrides.

A config file has the sections below (every field has a default except the model and the
training sources); unknown sections and keys are rejected, as the model configs reject them::

    model:      {name: cspn, variant: small, config: {prop_time: 24}}
    data:       {train: [{kind: kitti_raw, path: ...}], lines: [32, 16, 8, 4], ...}
    validation: {sources: [{kind: kitti_raw, path: ...}], lines: [32, 16], every: 200}
    loss:       {kind: l1_l2, max_depth: 90.0}
    optim:      {lr: 0.001, weight_decay: 0.0001, grad_clip: 1.0, accumulate: 1}
    schedule:   {kind: cosine, warmup_steps: 100}
    run:        {seed: 0, max_steps: 1000, max_minutes: 0, batch_size: 4, out: out/train}

Overrides address a field by its dotted path: ``run.max_steps=3``, ``model.config.width=32``,
``data.lines=[32, 16]`` (values are YAML, as :func:`~depth_completion_ros.models.model_config.
parse_set` reads them).

Example:
    >>> cfg = config_from_mapping({"model": {"name": "cspn", "variant": "small"},
    ...     "data": {"train": [{"kind": "kitti_raw", "path": "drive"}]}},
    ...     overrides={"run.max_steps": 3})
    >>> cfg.run.max_steps, cfg.model_config()["width"]
    (3, 16)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models import get_entry
from depth_completion_ros.models.registry import build_config, list_models
from depth_completion_ros.training.sections import (
    DataSection,
    LossSection,
    ModelSection,
    OptimSection,
    RunSection,
    ScheduleSection,
    SourceConfig,
    ValidationSection,
)


@dataclass(frozen=True)
class TrainConfig:
    """The whole training config (see the module docstring)."""

    model: ModelSection
    data: DataSection
    validation: ValidationSection = ValidationSection()
    loss: LossSection = LossSection()
    optim: OptimSection = OptimSection()
    schedule: ScheduleSection = ScheduleSection()
    run: RunSection = RunSection()

    def model_config(self) -> dict[str, Any]:
        """The model's config mapping: its variant's values, then ``model.config``, all fields
        (validated by the registry)."""
        entry = get_entry(self.model.name)
        typed = build_config(entry.config_cls, self._model_values(),
                             source=f"training config model {self.model.name!r}")
        return dict(dataclasses.asdict(typed))

    def _model_values(self) -> dict[str, Any]:
        entry = get_entry(self.model.name)
        assert entry.network is not None  # checked by config_from_mapping
        return {**entry.network.variants[self.model.variant], **self.model.config}

    def as_dict(self) -> dict[str, Any]:
        """Plain values (lists, mappings) that :func:`config_from_mapping` reads back."""
        return dict(_plain(dataclasses.asdict(self)))


_SECTIONS: dict[str, type] = {"model": ModelSection, "data": DataSection,
                              "validation": ValidationSection, "loss": LossSection,
                              "optim": OptimSection, "schedule": ScheduleSection,
                              "run": RunSection}


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read a training config YAML, apply dotted ``overrides``, validate.

    Raises:
        ConfigError: unreadable file, unknown keys, wrong types or values (naming them).
        ModelError: an unregistered model name.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read training config {path}: {err}") from err
    return config_from_mapping(data or {}, overrides, source=f"training config {path}")


def config_from_mapping(data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                        *, source: str = "training config") -> TrainConfig:
    """:class:`TrainConfig` from nested mappings plus dotted overrides (see :func:`load_config`)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
    merged = {key: dict(value) if isinstance(value, Mapping) else value
              for key, value in data.items()}
    for dotted, value in (overrides or {}).items():
        _apply_override(merged, dotted, value, source)
    unknown = sorted(set(merged) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {unknown}; valid: {sorted(_SECTIONS)}")
    sections = {name: _section(name, merged.get(name, {}), source) for name in _SECTIONS}
    config = TrainConfig(**sections)
    _check_model(config, source)
    return config


def _apply_override(merged: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """``section.key[.sub]=value`` into ``merged`` (only ``model.config.*`` goes 3 deep)."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] not in _SECTIONS or "" in parts:
        raise ConfigError(f"{source}: --set {dotted}: expected SECTION.KEY with SECTION one "
                          f"of {sorted(_SECTIONS)}")
    if len(parts) > 2 and parts[:2] != ["model", "config"] or len(parts) > 3:
        raise ConfigError(f"{source}: --set {dotted}: only model.config.KEY goes below "
                          f"SECTION.KEY")
    section = merged.setdefault(parts[0], {})
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: section {parts[0]!r} must be a mapping")
    if len(parts) == 3:
        section["config"] = {**dict(section.get("config") or {}), parts[2]: value}
    else:
        section[parts[1]] = value


def _section(name: str, values: Any, source: str) -> Any:
    where = f"{source}: section {name!r}"
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {values!r:.80}")
    values = dict(values)
    for key in ("train", "sources"):
        if key in values:
            values[key] = _sources(values[key], f"{where}, {key}")
    if name == "model" and not isinstance(values.get("config", {}), Mapping):
        raise ConfigError(f"{where}: config must be a mapping")
    return build_config(_SECTIONS[name], values, source=where)


def _sources(items: Any, where: str) -> tuple[SourceConfig, ...]:
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of sources, got {items!r:.80}")
    sources = tuple(build_config(SourceConfig, item, source=f"{where}[{i}]")
                    for i, item in enumerate(items))
    for i, src in enumerate(sources):
        if not src.path:
            raise ConfigError(f"{where}[{i}]: source of kind {src.kind!r} needs a path")
        if src.kind == "kitti_dc" and not src.raw:
            raise ConfigError(f"{where}[{i}]: source of kind 'kitti_dc' needs raw: the KITTI "
                              f"raw root (RGB)")
    return sources


def _check_model(config: TrainConfig, source: str) -> None:
    entry = get_entry(config.model.name) if config.model.name else None
    if entry is None or entry.network is None:
        raise ConfigError(f"{source}: model.name must be a learned model (one with a network "
                          f"to train), got {config.model.name!r}")
    if config.model.variant not in entry.network.variants:
        raise ConfigError(f"{source}: model.variant must be one of "
                          f"{sorted(entry.network.variants)}, got {config.model.variant!r}")
    if not config.data.train:
        raise ConfigError(f"{source}: data.train lists no source")
    if not entry.spec.runs_without_lidar and (0 in config.data.lines
                                              or 0 in config.validation.lines):
        raise ConfigError(f"{source}: lines 0 (no LiDAR input) need a model that runs without "
                          f"LiDAR; {entry.name!r} requires sparse depth")
    if config.loss.image_weight and entry.network.build_training is None:
        with_head = [e.name for e in list_models()
                     if e.network is not None and e.network.build_training is not None]
        raise ConfigError(f"{source}: loss.image_weight > 0 needs a network with an image head "
                          f"({', '.join(with_head) or 'none'}); {entry.name!r} has none")
    config.model_config()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
