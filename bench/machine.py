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


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine since boot, from /proc/stat (zeros elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(x) for x in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


class CoresBusy:
    """How many of the machine's cores were busy, on average, between start() and stop().

    Counts every process, ours included: on a machine shared with other work, a figure well
    above what the benchmark itself uses says its timings were taken under contention.
    """

    def __init__(self) -> None:
        self.began = cpu_times()
        self.cores = os.cpu_count() or 1

    def stop(self) -> float:
        busy, total = cpu_times()
        spent = total - self.began[1]
        return round(self.cores * (busy - self.began[0]) / spent, 2) if spent > 0 else 0.0
