"""Render a trained splat from the cameras of ``cameras.json`` on CPU (used by the compressor
stage for previews and fidelity checks).

    python -m gs_trainer.render --ply point_cloud.ply --cameras cameras.json --out DIR \
        [--held-out-only] [--max-size 800] [--names IMG_1,IMG_2] [--background 0,0,0]

Writes ``DIR/<img_name>.png`` per camera, resized so the longer side is at most --max-size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from .backends.torch_tiles import rasterize_torch
from .gaussians import activated, read_ply, sh_degree_of
from .outputs import save_png


def camera_matrices(cam: dict[str, Any], max_size: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """viewmat (world-to-camera) and K for a cameras.json entry, scaled to max_size."""
    w, h = int(cam["width"]), int(cam["height"])
    s = min(1.0, max_size / max(w, h)) if max_size > 0 else 1.0
    W, H = max(1, round(w * s)), max(1, round(h * s))
    sx, sy = W / w, H / h
    cx = float(cam.get("cx", w / 2.0))
    cy = float(cam.get("cy", h / 2.0))
    K = torch.tensor([[float(cam["fx"]) * sx, 0, cx * sx], [0, float(cam["fy"]) * sy, cy * sy], [0, 0, 1]])
    c2w = torch.tensor(cam["rotation"], dtype=torch.float64)
    pos = torch.tensor(cam["position"], dtype=torch.float64)
    vm = torch.eye(4, dtype=torch.float64)
    vm[:3, :3] = c2w.T
    vm[:3, 3] = -c2w.T @ pos
    return vm.float(), K, W, H


def render_cameras(
    ply: Path, cameras: list[dict[str, Any]], out: Path, max_size: int, background: torch.Tensor
) -> list[Path]:
    params = read_ply(ply)
    deg = sh_degree_of(params)
    means, quats, scales, opac, bands = activated(params)
    sh = torch.cat(bands, dim=1)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with torch.no_grad():
        for cam in cameras:
            vm, K, W, H = camera_matrices(cam, max_size)
            img = rasterize_torch(means, quats, scales, opac, sh, vm, K, W, H, deg, background).image
            path = out / f"{cam['img_name']}.png"
            save_png(path, img)
            written.append(path)
    return written



def parse_background(text: str) -> tuple[float, float, float]:
    """``--background R,G,B`` (render, score): three numbers in [0,1], or a ValueError naming it."""
    try:
        rgb = [float(x) for x in text.split(",")]
    except ValueError:
        rgb = []
    if len(rgb) != 3 or not all(0.0 <= x <= 1.0 for x in rgb):
        raise ValueError(f"--background expects three numbers in [0,1] as R,G,B, got '{text}'")
    return rgb[0], rgb[1], rgb[2]

def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m gs_trainer.render", description=__doc__.split("\n\n")[0])
    ap.add_argument("--ply", type=Path, required=True, help="point_cloud.ply (standard 3DGS layout)")
    ap.add_argument("--cameras", type=Path, required=True, help="cameras.json written by training")
    ap.add_argument("--out", type=Path, required=True, help="output folder for <img_name>.png")
    ap.add_argument("--held-out-only", action="store_true", help="only cameras with held_out: true")
    ap.add_argument("--max-size", type=int, default=800, help="longer image side in px (default 800; 0 = full)")
    ap.add_argument("--names", default="", help="comma-separated img_names to render (default: all)")
    ap.add_argument("--background", default="0,0,0", help="background colour r,g,b in [0,1]")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        cams: list[dict[str, Any]] = json.loads(a.cameras.read_text())
        if not isinstance(cams, list):
            raise ValueError("cameras.json must hold a list of cameras")
        if a.held_out_only:
            cams = [c for c in cams if c.get("held_out")]
        if a.names:
            want = {n.strip() for n in a.names.split(",") if n.strip()}
            missing = want - {c["img_name"] for c in cams}
            if missing:
                raise ValueError(f"no camera named {', '.join(sorted(missing))} in {a.cameras}")
            cams = [c for c in cams if c["img_name"] in want]
        bg = torch.tensor(parse_background(a.background))
        for p in render_cameras(a.ply, cams, a.out, a.max_size, bg):
            print(p)
    except (OSError, ValueError, KeyError) as e:
        print(f"render: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
