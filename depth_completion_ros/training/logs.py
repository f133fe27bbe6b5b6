"""Training logs: a CSV file (always), TensorBoard (when ``torch.utils.tensorboard`` imports),
a progress bar (tqdm when installed, else a line every ``log_every`` steps). With several
processes, rank 0 logs and the others hold a :class:`NullLog`."""
from __future__ import annotations

import csv
import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

#: columns of ``log.csv`` (validation columns empty on rows without validation)
CSV_FIELDS = ("step", "loss", "lr", "grad_norm", "samples_per_s", "elapsed_s", "val_rmse_mm",
              "val_mae_mm")


class TrainingLog:
    """Rows to ``log.csv`` (appended when resuming), scalars to TensorBoard when available.

    Args:
        out_dir: the run folder.
        total_steps: the run's ``max_steps`` (progress bar length).
        start_step: the step the run starts from (resume).
    """

    def __init__(self, out_dir: Path, *, total_steps: int, start_step: int = 0) -> None:
        self.path = out_dir / "log.csv"
        new = not self.path.is_file()
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS, restval="")
        if new:
            self._csv.writeheader()
        self._tb = _tensorboard(out_dir)
        self._bar = _progress_bar(total_steps, start_step)

    def row(self, values: Mapping[str, float | int]) -> None:
        """One CSV row (known fields only) and its scalars in TensorBoard."""
        self._csv.writerow({k: _fmt(v) for k, v in values.items() if k in CSV_FIELDS})
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                if key != "step":
                    self._tb.add_scalar(key, value, int(values["step"]))

    def progress(self, step: int, text: Mapping[str, str]) -> None:
        """Advance the bar to ``step`` with ``text`` (loss, lr, throughput)."""
        if self._bar is not None:
            self._bar.update(step - self._bar.n)
            self._bar.set_postfix(text, refresh=False)
        else:
            LOG.info("step %d  %s", step, "  ".join(f"{k} {v}" for k, v in text.items()))

    def close(self) -> None:
        """Flush and close every sink."""
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._bar is not None:
            self._bar.close()


def _fmt(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def _tensorboard(out_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        LOG.info("TensorBoard not installed: logging to %s only", out_dir / "log.csv")
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))


def _progress_bar(total: int, start: int) -> Any:
    try:
        tqdm = importlib.import_module("tqdm")
    except ImportError:
        return None
    return tqdm.tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)


class NullLog(TrainingLog):
    """The log of a rank other than 0: writes nothing, shows nothing."""

    def __init__(self) -> None:  # no file, no sinks
        pass

    def row(self, values: Mapping[str, float | int]) -> None:
        """Nothing."""

    def progress(self, step: int, text: Mapping[str, str]) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""
