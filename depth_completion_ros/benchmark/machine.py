"""What a measurement ran on: CPU model and cores, GPU (or none), library versions, load.

Example:
    >>> info = machine_info()
    >>> sorted(info)[:3]
    ['cpu', 'cpu_count', 'gpu']
"""
from __future__ import annotations

import os
import platform
import resource
from typing import Any


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """Name of CUDA device 0, or None (no torch, no CUDA)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def load_average() -> tuple[float, float, float]:
    """1, 5 and 15 minute load averages (zeros where the OS has none)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if platform.system() == "Darwin" else peak / 1024


def machine_info() -> dict[str, Any]:
    """CPU, logical CPUs, GPU (None when there is none), Python / numpy / OpenCV / torch /
    onnxruntime versions (None when not installed), OpenCV threads, load average now."""
    import cv2
    import numpy as np

    versions: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                                "opencv": cv2.__version__}
    for name in ("torch", "onnxruntime"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpu": gpu_name(),
            "system": f"{platform.system()} {platform.machine()}",
            "opencv_threads": cv2.getNumThreads(), "load_average": list(load_average()),
            "versions": versions}


def describe(info: dict[str, Any]) -> str:
    """One line of :func:`machine_info`."""
    v = info["versions"]
    return (f"machine: {info['cpu']}, {info['cpu_count']} logical CPUs, GPU "
            f"{info['gpu'] or 'none'}; Python {v['python']}, numpy {v['numpy']}, OpenCV "
            f"{v['opencv']} ({info['opencv_threads']} threads), torch {v['torch']}, "
            f"onnxruntime {v['onnxruntime']}; load average {info['load_average']}")
