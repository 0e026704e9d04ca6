"""Builds and loads the compiled CPU rasterizer (``csrc/``: projection, SH colours, tile binning,
compositing, fused SSIM), a PyTorch C++ extension.

Compiled once per source version and torch version with the machine's g++ (OpenMP) through
``torch.utils.cpp_extension`` (which drives ``ninja``); nothing is downloaded. The build is
cached outside the repository, in ``$TORCH_EXTENSIONS_DIR`` when set, else
``$SPACEPORT_CACHE/torch-extensions`` (default ``~/.cache/spaceport/torch-extensions``), so
later runs, tests and CI reuse it; concurrent first uses wait on one build (torch's file lock).
When it cannot be built, :func:`load` says why and the caller falls back to the PyTorch
backend. ``python -m gs_trainer.backends.compiled`` builds it ahead of time (Docker images).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

CSRC = Path(__file__).resolve().parent / "csrc"
SOURCES = [CSRC / "tiles.cpp", CSRC / "binning.cpp", CSRC / "ssim.cpp", CSRC / "projection.cpp", CSRC / "sh_colors.cpp"]
# -fno-trapping-math lets the masked pixel loops vectorise (it changes no result: nothing traps);
# -march=native uses the machine's vector width (AVX2: 1.5x over baseline x86-64), so the build is
# keyed by the CPU's feature flags and a build made on another CPU is never loaded (see
# build_name). The C++ standard is the one torch.utils.cpp_extension picks for torch's headers.
CFLAGS = ["-O3", "-fno-trapping-math", "-march=native", "-fopenmp"]
LDFLAGS = ["-fopenmp"]


@dataclass(frozen=True)
class Status:
    ok: bool
    message: str  # one line: what was loaded from where, or why not


_status: Status | None = None


def cache_dir() -> Path:
    env = os.environ.get("TORCH_EXTENSIONS_DIR")
    if env:
        return Path(env)
    root = os.environ.get("SPACEPORT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spaceport"
    )
    return Path(root) / "torch-extensions"


def cpu_features() -> str:
    """The CPU's feature flags (what -march=native compiles for)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def build_name() -> str:
    """Changes with the source, the flags, torch, Python and the CPU's features, so a stale build,
    or one made for another CPU, is never loaded."""
    h = hashlib.sha256()
    for src in SOURCES:
        h.update(src.read_bytes())
    h.update(" ".join(CFLAGS + LDFLAGS + [torch.__version__, sys.version.split()[0], cpu_features()]).encode())
    return f"spaceport_gs_tiles_{h.hexdigest()[:12]}"


def _missing_tool() -> str | None:
    # the venv's bin (pip's ninja) is not on PATH when the entry program runs python directly
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None and shutil.which("g++") is None:
        return "no C++ compiler (g++) on PATH: apt-get install g++"
    if shutil.which("ninja") is None:
        return "ninja not found: pip install ninja (requirements.txt) or apt-get install ninja-build"
    return None


def load() -> Status:
    """Loads the extension, building it first if needed; never raises."""
    global _status
    if _status is not None:
        return _status
    if os.environ.get("SPACEPORT_GS_COMPILED", "1") == "0":
        _status = Status(False, "disabled by SPACEPORT_GS_COMPILED=0")
        return _status
    missing = _missing_tool()
    if missing:
        _status = Status(False, missing)
        return _status
    from torch.utils import cpp_extension

    name = build_name()
    build = cache_dir() / name
    build.mkdir(parents=True, exist_ok=True)
    fresh = not any(build.glob("*.so"))
    t0 = time.perf_counter()
    try:
        cpp_extension.load(
            name=name,
            sources=[str(src) for src in SOURCES],
            extra_cflags=CFLAGS,
            extra_ldflags=LDFLAGS,
            build_directory=str(build),
            is_python_module=False,
            verbose=False,
        )
    except Exception as e:  # a compiler error, a missing header: fall back, say why
        lines = str(e).strip().splitlines()
        errors = [ln.strip() for ln in lines if "error" in ln.lower()] or lines or [type(e).__name__]
        _status = Status(False, f"build failed in {build}: {errors[0][:300]}")
        return _status
    how = f"built in {time.perf_counter() - t0:.0f} s" if fresh else "cached"
    _status = Status(True, f"{how}, {build}")
    return _status


def ops() -> Any:
    """The extension's operators (``torch.ops.spaceport_gs``), loading it first; raises with the
    reason when it is not available (callers that can fall back check :func:`load` instead)."""
    st = load()
    if not st.ok:
        raise RuntimeError(f"the compiled CPU rasterizer is not available: {st.message}")
    return torch.ops.spaceport_gs


def main() -> int:
    st = load()
    print(f"compiled CPU rasterizer: {'ready' if st.ok else 'NOT available'} ({st.message})")
    return 0 if st.ok else 1


if __name__ == "__main__":
    sys.exit(main())
