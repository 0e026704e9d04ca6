"""A GPU instance type never trains on the CPU by accident; the CUDA image's build check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gs_trainer.accelerator import CudaView, cuda_mismatch, instance_type, missing_gpu_reason, required

HERE = Path(__file__).resolve().parents[1]


def test_required_only_for_an_nvidia_instance() -> None:
    assert required({"SPACEPORT_ACCELERATOR": "nvidia"})
    assert not required({"SPACEPORT_ACCELERATOR": "none"})
    assert not required({})


def test_cuda_pair_check() -> None:
    assert cuda_mismatch("11.8.0", "11.8") is None
    assert "CUDA 13.0.2 but torch is built for CUDA 13.2" in (cuda_mismatch("13.0.2", "13.2") or "")
    assert "CPU build" in (cuda_mismatch("11.8.0", None) or "")
    assert "no CUDA_VERSION" in (cuda_mismatch(None, "11.8") or "")


def test_reason_names_driver_cuda_and_devices(tmp_path: Path) -> None:
    (tmp_path / "resourceconfig.json").write_text(json.dumps({"current_instance_type": "ml.g4dn.xlarge"}))
    reason = missing_gpu_reason(CudaView(None, None, 0, "none"), instance_type(tmp_path))
    assert reason.startswith("instance type ml.g4dn.xlarge has an NVIDIA GPU")
    assert "no NVIDIA driver loaded" in reason and "torch without CUDA" in reason and "0 CUDA device(s)" in reason
    assert "ACCELERATOR=none" in reason and "device=cpu" in reason
    assert "NVIDIA driver 470.256.02, torch built with CUDA 11.8" in missing_gpu_reason(CudaView("470.256.02", "11.8", 0, "nvidia"), None)
    assert instance_type(tmp_path / "missing") is None


def _stage(tmp_path: Path, accelerator: str, hyperparameters: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "current_instance_type": "ml.g4dn.xlarge"}))
    env = {**os.environ, "SPACEPORT_OPT_ML": str(tmp_path), "SPACEPORT_ACCELERATOR": accelerator, "SPACEPORT_PYTHON": sys.executable}
    started = time.monotonic()
    # the stage's entry program, as SageMaker starts it (`<image> train`)
    result = subprocess.run(["bash", str(HERE / "entrypoint.sh"), "train"], env=env, capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - started


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_gpu_instance_without_cuda_stops_within_a_minute(tmp_path: Path) -> None:
    result, seconds = _stage(tmp_path, "nvidia", {"quality": "preview"})
    assert result.returncode == 1
    assert seconds < 60
    failure = (tmp_path / "output" / "failure").read_text()
    assert "instance type ml.g4dn.xlarge has an NVIDIA GPU but the trainer cannot use it" in failure
    assert "0 CUDA device(s) visible" in failure
    assert not (tmp_path / "model" / "point_cloud.ply").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_explicit_cpu_device_on_a_gpu_instance_is_not_an_accident(tmp_path: Path) -> None:
    # device=cpu passes the GPU requirement and reaches the data (none here: a plain data error)
    result, _ = _stage(tmp_path, "nvidia", {"quality": "preview", "device": "cpu"})
    failure = (tmp_path / "output" / "failure").read_text()
    assert result.returncode == 1
    assert "NVIDIA GPU" not in failure


def _check_build(cuda_version: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUDA_VERSION": cuda_version}
    script = HERE / "gs_trainer" / "accelerator.py"  # as the Dockerfile runs it: the file alone
    return subprocess.run([sys.executable, str(script), "check-build"], env=env, capture_output=True, text=True, timeout=120)


def test_build_check_runs_as_a_file_and_fails_on_a_mismatch() -> None:
    torch_cuda = torch.version.cuda
    mismatch = _check_build("10.2.89")
    assert mismatch.returncode == 1
    assert "CUDA check failed" in mismatch.stderr
    if torch_cuda:  # this machine's torch is a CUDA build: its own version passes
        same = _check_build(f"{torch_cuda}.0")
        assert same.returncode == 0, same.stderr
        assert f"torch {torch.__version__} (CUDA {torch_cuda})" in same.stdout
