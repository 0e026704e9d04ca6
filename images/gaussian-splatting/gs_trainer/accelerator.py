"""The GPU a job was compiled for, and the CUDA an image was built with.

``SPACEPORT_ACCELERATOR`` (set by the compiler from the instance table: ``nvidia`` or ``none``)
says whether the instance type has a GPU. On such an instance ``device=auto`` must find CUDA:
training a ``standard`` preset on the CPU would take days at GPU prices, so the stage stops at
once with what it sees (driver, CUDA, device count). CPU instance types and the local runtime
(which sets ``none`` on a machine without a GPU) keep ``auto``.

``python gs_trainer/accelerator.py check-build`` is the CUDA image's build-time check: the base
image's CUDA (``CUDA_VERSION``) and torch's (``torch.version.cuda``) must agree in major.minor.
It imports nothing of the package, so the image runs it before the package is copied in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CudaView:
    """What this container sees of CUDA."""

    driver: str | None  # NVIDIA kernel driver version, None when no driver is loaded
    torch_cuda: str | None  # torch.version.cuda: None for a CPU build of torch
    devices: int
    image_accelerator: str  # what the image was built for (SPACEPORT_IMAGE_ACCELERATOR)


def required(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return env.get("SPACEPORT_ACCELERATOR", "none").strip().lower() == "nvidia"


def instance_type(config_dir: Path) -> str | None:
    """SageMaker's resourceconfig.json names the instance type (current_instance_type)."""
    try:
        value = json.loads((config_dir / "resourceconfig.json").read_text()).get("current_instance_type")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def driver_version() -> str | None:
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
    except OSError:
        text = ""
    for word in text.split():
        if word.count(".") >= 1 and word.replace(".", "").isdigit():
            return word
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = out.stdout.strip().splitlines()
    return first[0].strip() if out.returncode == 0 and first else None


def missing_gpu_reason(view: CudaView, instance: str | None) -> str:
    where = f"instance type {instance}" if instance else "this job's instance type"
    driver = f"NVIDIA driver {view.driver}" if view.driver else "no NVIDIA driver loaded"
    cuda = f"torch built with CUDA {view.torch_cuda}" if view.torch_cuda else "torch without CUDA (a CPU build)"
    image = "" if view.image_accelerator == "nvidia" else f"; the image was built for ACCELERATOR={view.image_accelerator}, not nvidia"
    return (
        f"{where} has an NVIDIA GPU but the trainer cannot use it: {driver}, {cuda}, "
        f"{view.devices} CUDA device(s) visible{image}. Training stopped instead of running on the CPU; "
        "deploy the CUDA image (images/gaussian-splatting/Dockerfile without build arguments), or set "
        "the hyperparameter device=cpu to train on the CPU on purpose."
    )


def cuda_mismatch(base_cuda: str | None, torch_cuda: str | None) -> str | None:
    """Why the base image's CUDA and torch's do not go together, or None when they do."""
    if not torch_cuda:
        return "torch is a CPU build, but this is the CUDA image: install torch from the CUDA index matching the base"
    if not base_cuda:
        return f"the base image declares no CUDA_VERSION, but torch is built for CUDA {torch_cuda}"
    if base_cuda.split(".")[:2] != torch_cuda.split(".")[:2]:
        return f"the base image has CUDA {base_cuda} but torch is built for CUDA {torch_cuda}: choose them as one pair"
    return None


def missing_cuda(config_dir: Path) -> str | None:
    """On an instance type with a GPU: why CUDA is not usable here, or None when it is."""
    import torch

    devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if devices > 0:
        return None
    view = CudaView(driver_version(), torch.version.cuda, devices, os.environ.get("SPACEPORT_IMAGE_ACCELERATOR", "unknown"))
    return missing_gpu_reason(view, instance_type(config_dir))


def check_build() -> int:
    import torch

    problem = cuda_mismatch(os.environ.get("CUDA_VERSION"), torch.version.cuda)
    if problem:
        print(f"CUDA check failed: {problem}", file=sys.stderr)
        return 1
    print(f"CUDA check: base CUDA {os.environ.get('CUDA_VERSION')}, torch {torch.__version__} (CUDA {torch.version.cuda})")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["check-build"]:
        print("usage: python gs_trainer/accelerator.py check-build", file=sys.stderr)
        sys.exit(2)
    sys.exit(check_build())

