"""One explicit registry of completion models: register by name, list, build with a typed config.

Every model module registers itself when :mod:`depth_completion_ros.models` is imported (that
package imports each model module explicitly), so ``get_model("classical")`` never depends on an
import side effect elsewhere. Configs are frozen dataclasses built from plain mappings (YAML
presets, ROS parameters) with unknown keys rejected.

Example:
    >>> from depth_completion_ros.models import get_model, list_models
    >>> "classical" in [entry.name for entry in list_models()]
    True
    >>> get_model("classical").spec.runs_without_lidar
    False
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError, InputError, ModelError
from depth_completion_ros.models.base import DepthModel, ModelSpec

if TYPE_CHECKING:
    from depth_completion_ros.models.weights import InputSpec, WeightsSpec


class ModelFactory(Protocol):
    """Builds a model from its typed config; ``checkpoint`` is None for learning-free models
    (device and precision arrive parsed; learning-free models ignore them)."""

    def __call__(self, config: Any, *, checkpoint: Path | None, device: Device,
                 precision: Precision) -> DepthModel: ...


@dataclass(frozen=True)
class LearnedNetwork:
    """How a learned model's network is built without weights: what benchmarks (speed does not
    depend on the weights' values) and training (which makes the weights) start from.

    Attributes:
        build: typed config -> the ``nn.Module`` with random weights (imports torch when
            called, so registering and listing models do not).
        input_spec: the preprocessing the network expects (crop, normalisation, stride, depth
            scale), the one a checkpoint of it must store.
        variants: named sizes, name -> config overrides: ``"full"`` (the paper's network) and
            ``"small"`` (the 2-core CPU variant).
        initial_model: typed config -> the registered model whose depth the network refines
            (its ``initial`` input, D0), for refinement networks (MSPN); None for the others.
        build_training: typed config -> the network trained with an auxiliary image loss
            (``loss.image_weight``), which has parts the deployed one lacks (the depth-only
            network's grey-scale image head; its ``forward(..., with_image=True)`` returns
            depth and the grey image); None: the model has no such loss.
        deployable: trained module -> the module a checkpoint exports (the training-only parts
            left out, so a strict load of the checkpoint into ``build`` succeeds); None: the
            module as it is.
    """

    build: Callable[[Any], Any]
    input_spec: InputSpec
    variants: Mapping[str, Mapping[str, Any]]
    initial_model: Callable[[Any], DepthModel] | None = None
    build_training: Callable[[Any], Any] | None = None
    deployable: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One registered model.

    Attributes:
        spec: name, required / optional inputs, GPU need, description, paper.
        factory: builds the model (see :class:`ModelFactory`).
        config_cls: frozen dataclass of the model's config; all fields have defaults.
        weights: published weights, the default first; empty for learning-free models.
        network: how the network is built without weights; None for learning-free models.
    """

    spec: ModelSpec
    factory: ModelFactory
    config_cls: type
    weights: tuple[WeightsSpec, ...] = ()
    network: LearnedNetwork | None = None

    @property
    def name(self) -> str:
        """Registry name (``spec.name``)."""
        return self.spec.name

    @property
    def description(self) -> str:
        """One line for ``depth-completion models`` (``spec.description``)."""
        return self.spec.description

    @property
    def default_weights(self) -> WeightsSpec | None:
        """Weights used when no checkpoint is given (the first listed), or None."""
        return self.weights[0] if self.weights else None

    @property
    def default_checkpoint(self) -> str | None:
        """File name under ``models/`` of :attr:`default_weights`, or None."""
        return self.weights[0].file if self.weights else None


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(spec: ModelSpec, *, factory: Callable[..., DepthModel], config_cls: type,
                   weights: Sequence[WeightsSpec] = (),
                   network: LearnedNetwork | None = None) -> ModelEntry:
    """Add a model to the registry under ``spec.name``.

    Args:
        spec: the model's spec (name and declared inputs).
        factory: see :class:`ModelFactory`.
        config_cls: frozen dataclass of the model's config; all fields have defaults.
        weights: published weights, the default first.
        network: a learned model's network builder (:class:`LearnedNetwork`).

    Raises:
        ModelError: the name is already registered, or ``config_cls`` is not a frozen dataclass.
    """
    name = spec.name
    if name in _REGISTRY:
        raise ModelError(f"model {name!r} is already registered")
    params = getattr(config_cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise ModelError(f"config of model {name!r} must be a frozen dataclass, "
                         f"got {config_cls!r}")
    entry = ModelEntry(spec, factory, config_cls, tuple(weights), network)
    _REGISTRY[name] = entry
    return entry


@contextmanager
def temporary_model(spec: ModelSpec, *, factory: Callable[..., DepthModel], config_cls: type,
                    weights: Sequence[WeightsSpec] = ()) -> Iterator[ModelEntry]:
    """Register a model for the ``with`` block only (tests, stand-ins); removed on exit.

    Raises:
        ModelError: see :func:`register_model`.
    """
    entry = register_model(spec, factory=factory, config_cls=config_cls, weights=weights)
    try:
        yield entry
    finally:
        if _REGISTRY.get(spec.name) is entry:
            del _REGISTRY[spec.name]


def list_models() -> list[ModelEntry]:
    """All registered models, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; ModelError listing the valid names when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError as err:
        raise ModelError(f"unknown model {name!r}; registered models: "
                         f"{', '.join(sorted(_REGISTRY)) or '(none)'}") from err


def get_model(name: str, config: Mapping[str, Any] | None = None, *,
              checkpoint: str | Path | None = None, device: Device | str = Device.AUTO,
              precision: Precision | str = Precision.FP32) -> DepthModel:
    """Build the model ``name`` with its typed config.

    Args:
        name: a registered model name.
        config: overrides of the model's config fields; unknown keys raise ConfigError. With
            the default weights, their own config fields (:attr:`WeightsSpec.config`) come
            first and ``config`` overrides them.
        checkpoint: weights file; None = the entry's default weights (if any), whose sha256
            is checked first.
        device: :class:`~depth_completion_ros.devices.Device` or its value (torch models fall
            back to CPU with a note).
        precision: :class:`~depth_completion_ros.devices.Precision` or its value (half
            precision only on CUDA).

    Raises:
        ModelError: unknown name, device or precision. ConfigError: bad config.
        CheckpointError: the checkpoint is missing, has another digest than its weights
            spec, or does not match the model.
    """
    entry = get_entry(name)
    try:
        dev, prec = Device.parse(device), Precision.parse(precision)
    except InputError as err:
        raise ModelError(f"model {name!r}: {err}") from err
    values = dict(config or {})
    if checkpoint is None and entry.default_weights is not None:
        values = {**entry.default_weights.config, **values}  # the weights' own architecture
    cfg = build_config(entry.config_cls, values, source=f"config of model {name!r}")
    ckpt = _resolve_checkpoint(entry, checkpoint)
    return entry.factory(cfg, checkpoint=ckpt, device=dev, precision=prec)


def refinement_start(spec: ModelSpec, name: str) -> DepthModel:
    """The model whose depth the refinement network ``spec`` refines (D0): the registered
    model ``name`` with its default config and weights.

    Raises:
        ConfigError: ``name`` is empty, ``spec`` itself, or needs inputs ``spec`` lacks.
        ModelError: not a registered model.
        MissingWeightsError: a learned model without weights.
    """
    if not name or name == spec.name:
        raise ConfigError(f"{spec.name} config: initial_model must name another registered "
                          f"model, got {name!r}")
    entry = get_entry(name)   # ModelError naming the registered models
    if not set(entry.spec.required) <= set(spec.required):
        raise ConfigError(f"{spec.name} config: initial_model {name!r} needs "
                          f"{[i.value for i in entry.spec.required]}; {spec.name} has "
                          f"{' and '.join(i.value for i in spec.required)}")
    return get_model(name)


def _resolve_checkpoint(entry: ModelEntry, checkpoint: str | Path | None) -> Path | None:
    """``checkpoint`` as given, else the default weights' file after its sha256 check."""
    if checkpoint is not None:
        return Path(checkpoint)
    weights = entry.default_weights
    return None if weights is None else weights.verify()


def build_config(config_cls: type, values: Mapping[str, Any], *, source: str) -> Any:
    """Frozen dataclass ``config_cls`` from a mapping; unknown keys and wrong types rejected.

    Lists become tuples and ints are accepted for float fields (YAML writes ``1`` for ``1.0``).

    Raises:
        ConfigError: naming ``source``, the key and the valid keys or the expected type.
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    defaults = config_cls()
    kwargs = {key: _coerce(value, getattr(defaults, key), f"{source}: key {key!r}")
              for key, value in values.items()}
    try:
        return dataclasses.replace(defaults, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: {err}") from err


def _coerce(value: Any, default: Any, where: str) -> Any:
    """``value`` converted to the type of the field's default, or ConfigError."""
    if isinstance(value, list):
        value = tuple(value)
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(value, bool):
        pass  # a bool is not accepted for a numeric field
    elif isinstance(default, float) and isinstance(value, (int, float)):
        return float(value)
    elif isinstance(value, type(default)):
        return value
    raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")


def load_preset(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Read a model preset YAML: ``model: NAME`` and an optional ``config:`` mapping.

    The config is validated against the model's config class before it is returned.

    Returns:
        (model name, config mapping) ready for :func:`get_model`.

    Raises:
        ConfigError: unreadable file, unknown top-level keys or bad config values.
        ModelError: the preset names an unregistered model.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read model preset {path}: {err}") from err
    if not isinstance(data, dict) or "model" not in data:
        raise ConfigError(f"model preset {path}: expected a mapping with a 'model' key")
    unknown = sorted(set(data) - {"model", "config", "description"})
    if unknown:
        raise ConfigError(f"model preset {path}: unknown key(s) {unknown}; "
                          f"valid keys: ['config', 'description', 'model']")
    if not isinstance(data.get("config") or {}, dict):
        raise ConfigError(f"model preset {path}: config must be a mapping, got "
                          f"{data['config']!r:.80}")
    config = dict(data.get("config") or {})
    entry = get_entry(str(data["model"]))
    build_config(entry.config_cls, config, source=f"model preset {path}")
    return entry.name, config
