"""Helpers for the SfM stage tests: job folders, tiny photos, running the real entry program."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SFM_DIR = Path(__file__).resolve().parents[1]
ENTRYPOINT = SFM_DIR / "entrypoint.sh"


@dataclass
class Job:
    root: Path  # the job folder; nothing may appear outside it

    @property
    def opt_ml(self) -> Path:
        return self.root / "opt_ml"

    @property
    def photos(self) -> Path:
        return self.opt_ml / "processing" / "input" / "photos"

    @property
    def output(self) -> Path:
        return self.opt_ml / "processing" / "output" / "sfm"

    def failure(self) -> str:
        return (self.opt_ml / "output" / "failure").read_text()

    def message(self) -> str:
        return (self.opt_ml / "output" / "message").read_text()


def make_job(tmp_path: Path) -> Job:
    job = Job(tmp_path / "job")
    job.photos.mkdir(parents=True)
    return job


def noise_jpeg(seed: int, size: tuple[int, int] = (160, 120), quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    """A small photo of random blobs: unique per seed, never matches another seed's."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **({"exif": exif.tobytes()} if exif is not None else {}))
    return buf.getvalue()


def write_zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def run_stage(job: Job, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run entrypoint.sh natively, as the local runtime does, with the job folder as cwd and TMPDIR."""
    tmp = job.root / "tmp"
    tmp.mkdir(exist_ok=True)
    full_env = dict(os.environ)
    full_env.update({"SPACEPORT_OPT_ML": str(job.opt_ml), "TMPDIR": str(tmp), "HOME": str(job.root)})
    full_env.setdefault("SPACEPORT_PYTHON", sys.executable)  # the interpreter running the tests
    full_env.update(env or {})
    return subprocess.run(
        ["bash", str(ENTRYPOINT)], cwd=job.root, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def tree(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*")}
