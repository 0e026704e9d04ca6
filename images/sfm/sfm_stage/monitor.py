"""Time and peak resident memory per step, and the progress lines the runtime reads."""

from __future__ import annotations

import resource
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from stage_contract import progress

__all__ = ["StepMonitor", "current_rss_mb", "progress"]

_STATUS = Path("/proc/self/status")


def current_rss_mb() -> float:
    """Resident set size of this process in MiB (0 where /proc is missing)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StepMonitor:
    """Records wall time and peak RSS of each named step (RSS sampled every 50 ms on a thread)."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.timings_s: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}
        self.peak_memory_mb: dict[str, float] = {}
        self._interval = interval_s
        self._peak = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            rss = current_rss_mb()
            with self._lock:
                self._peak = max(self._peak, rss)

    @contextmanager
    def step(self, name: str, start_pct: float) -> Iterator[None]:
        progress(start_pct, name)
        with self._lock:
            self._peak = current_rss_mb()
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.cpu_s[name] = round(self.cpu_s.get(name, 0.0) + _cpu_seconds() - cpu_started, 2)
            with self._lock:
                peak = max(self._peak, current_rss_mb())
            self.timings_s[name] = round(self.timings_s.get(name, 0.0) + elapsed, 2)
            self.peak_memory_mb[name] = round(max(self.peak_memory_mb.get(name, 0.0), peak), 1)

    def overall_peak_mb(self) -> float:
        """Peak RSS of the whole process so far (kernel's high-water mark)."""
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
