"""A model's config from a preset file and ``key=value`` overrides, validated before use.

The entry points (``depth-completion predict``, ``evaluate``, ``benchmark``) take a model preset
(``--model-config FILE``, the ``config/models/*.yaml`` format: ``model:``, ``config:``,
``description:``) and overrides (``--set key=value``, repeatable). This module turns those into
one config mapping for :func:`~depth_completion_ros.models.registry.get_model`, checked against
the model's config dataclass: unknown keys and wrong types raise
:class:`~depth_completion_ros.errors.ConfigError` listing the valid keys.

Example:
    >>> from depth_completion_ros.models import classical  # registers "classical"
    >>> overrides = parse_set(["blur_px=9", "plane_tolerance=0.05"])
    >>> overrides
    {'blur_px': 9, 'plane_tolerance': 0.05}
    >>> resolve_model_config("classical", None, overrides) == overrides
    True
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models.registry import build_config, get_entry, load_preset


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Overrides ``key=value`` as a mapping; each value is read as a YAML scalar or list.

    ``blur_px=9`` gives an int, ``plane_tolerance=0.05`` a float, ``extrapolate=false`` a bool,
    ``blur=gaussian`` a string, ``size=[3, 4]`` a list. A key given twice keeps the last value.

    Args:
        items: the ``--set`` arguments, in command-line order.

    Returns:
        key -> value, not yet checked against any model (see :func:`resolve_model_config`).

    Raises:
        ConfigError: an item without ``=``, with an empty key or value, with a value that is not
            YAML, or with a mapping as value; the message names the item.
    """
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. blur_px=9")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: the value is not a YAML scalar or list "
                              f"({str(err).splitlines()[0]})") from err
        if isinstance(value, dict):
            raise ConfigError(f"--set {item!r}: expected a scalar or a list as value, "
                              f"got a mapping")
        values[key] = value
    return values


def resolve_model_config(model: str, config_file: str | Path | None,
                         sets: Mapping[str, Any]) -> dict[str, Any]:
    """The config mapping of ``model``: preset file, then overrides, validated.

    Args:
        model: registered model name (``--model``).
        config_file: model preset (``model:``, ``config:``, ``description:``); it must name
            ``model``. None = start from the model's defaults.
        sets: overrides, e.g. from :func:`parse_set`; they win over the preset's values.

    Returns:
        key -> value (only the keys given; every other field keeps its default), ready for
        ``get_model(model, config)``.

    Raises:
        ModelError: ``model`` (or the preset's model) is not registered.
        ConfigError: unreadable preset, a preset of another model, or unknown keys / wrong
            types / invalid values (the message lists the valid keys).
    """
    entry = get_entry(model)
    values: dict[str, Any] = {}
    source = f"config of model {entry.name!r}"
    if config_file is not None:
        preset_model, preset_config = load_preset(config_file)
        if preset_model != entry.name:
            raise ConfigError(f"model preset {config_file} is for model {preset_model!r}, not "
                              f"{entry.name!r}: use a preset of {entry.name!r} or run "
                              f"model {preset_model!r}")
        values.update(preset_config)
        source += f" (preset {config_file}" + (" + overrides)" if sets else ")")
    elif sets:
        source += " (overrides)"
    values.update(sets)
    build_config(entry.config_cls, values, source=source)
    return values
