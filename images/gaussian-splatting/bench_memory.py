"""One memory sampler for the training bench's rows, ours and OpenSplat's alike.

Every 50 ms it reads the process's resident set (VmRSS) and its anonymous part (RssAnon: heap,
stacks, .bss and copy-on-write data, what the process itself allocated; the rest of the resident
set is file pages, mostly shared-library code that other processes can share) from
/proc/PID/status, and keeps the peaks. The process alone, not its children: a child forked to
run a helper (the extension loader's build check) shares its parent's pages, and a sum would
count them twice. The kernel's exact peak
resident set of the process (ru_maxrss from wait4) is reported beside it by the callers.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

INTERVAL_S = 0.05


def _status_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) in KiB; (0, 0) once the process is gone."""
    rss = anon = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, anon


class TreeSampler:
    """``with TreeSampler(pid) as s: ...``; then s.peak_rss_mb, s.peak_anon_mb (MiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_kib = 0
        self.peak_anon_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while True:
            rss, anon = _status_kib(self.pid)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_anon_kib = max(self.peak_anon_kib, anon)
            if self._stop.wait(INTERVAL_S):
                return

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kib / 1024.0

    @property
    def peak_anon_mb(self) -> float:
        return self.peak_anon_kib / 1024.0


def wait_peak(p: subprocess.Popen[str]) -> tuple[int, float]:
    """Waits for p; (exit status, the kernel's peak RSS of p itself in MiB)."""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, usage.ru_maxrss / 1024.0


def floor(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """What a program costs before any work: peak RSS (kernel) and sampled peak anonymous memory
    of ``cmd`` (which should load its libraries, then wait a moment or exit)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env)
    with TreeSampler(p.pid) as sampler:
        code, peak = wait_peak(p)
    return {"exit": code, "peak_mb": peak, "anon_mb": sampler.peak_anon_mb, "s": time.perf_counter() - t}
