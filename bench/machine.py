"""The machine a benchmark ran on, recorded beside its figures.

Imported by the scripts in bench/ (each runs with bench/ on sys.path); not run itself.
"""

from __future__ import annotations

import os
import platform


def describe_machine() -> dict:
    """CPU cores usable by this process, the CPU model, the OS and the Python version."""
    return {
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
