"""Benchmark of the SfM stage on the caliterra survey (npm run bench:sfm).

1. On a 24-photo subset: the seed-style baseline (COLMAP defaults: full-resolution SIFT with up to
   8192 features, exhaustive matching, incremental mapper, undistortion) against this stage, run
   one after the other on the same machine: time ratio (wall and CPU seconds) and photos placed
   for both; then the stage once more with the incremental mapper, to compare the mappers.
2. All 75 photos through the stage (the real entry program on a ZIP): photos placed, GPS residual,
   time and peak memory per step.

Outputs go to .bench/sfm/ (ignored by git); a summary is printed and written to bench.json.
Usage: python images/sfm/bench.py [--subset 24] [--skip-full] [--skip-subset]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

SFM_DIR = Path(__file__).resolve().parent
REPO = SFM_DIR.parents[1]
sys.path.insert(0, str(SFM_DIR))
sys.path.insert(0, str(SFM_DIR.parent / "shared"))

from sfm_stage.monitor import StepMonitor  # noqa: E402


def caliterra() -> Path:
    path = Path(os.environ.get("SPACEPORT_CALITERRA") or REPO.parent / "shared" / "datasets" / "caliterra")
    photos = sorted(path.glob("*.jpg")) if path.is_dir() else []
    if not photos:
        sys.exit(f"caliterra photos not found in {path} (set SPACEPORT_CALITERRA)")
    return path


def seed_style(images: Path, work: Path) -> dict[str, Any]:
    """COLMAP's defaults, as the seed's container ran them (in this process; call in a child).

    Feature extraction (SIFT, up to 8192 features, full resolution, one camera per photo as
    COLMAP's AUTO mode decides), exhaustive matching, incremental mapping, undistortion."""
    import pycolmap

    work.mkdir(parents=True, exist_ok=True)
    database = work / "database.db"
    monitor = StepMonitor()
    with monitor.step("features", 0):
        pycolmap.extract_features(database, images, device=pycolmap.Device.cpu)
    with monitor.step("matching", 30):
        pycolmap.match_exhaustive(database, device=pycolmap.Device.cpu)
    with monitor.step("mapping", 60):
        models = pycolmap.incremental_mapping(database, images, work / "sparse")
    best = max(models.values(), key=lambda r: r.num_reg_images()) if models else None
    if best is not None:
        with monitor.step("undistort", 90):
            model_dir = work / "model"
            model_dir.mkdir(exist_ok=True)
            best.write(model_dir)
            pycolmap.undistort_images(work / "undistorted", model_dir, images)
    monitor.close()
    return {
        "photos": len(list(images.iterdir())),
        "photos_placed": best.num_reg_images() if best else 0,
        "mean_reprojection_error_px": round(best.compute_mean_reprojection_error(), 4) if best else None,
        "points": best.num_points3D() if best else 0,
        "timings_s": dict(monitor.timings_s, total=round(sum(monitor.timings_s.values()), 2)),
        "cpu_s": dict(monitor.cpu_s, total=round(sum(monitor.cpu_s.values()), 2)),
        "peak_memory_mb": dict(monitor.peak_memory_mb, overall=monitor.overall_peak_mb()),
    }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_seed_style(photos: list[Path], root: Path) -> dict[str, Any]:
    images = root / "images"
    shutil.rmtree(root, ignore_errors=True)
    images.mkdir(parents=True)
    for p in photos:
        shutil.copyfile(p, images / p.name)
    out = root / "result.json"
    cpu = _children_cpu_s()
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--seed-style-child", str(images), str(root / "work"), str(out)], check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = round(time.perf_counter() - started, 2)
    result["process_cpu_s"] = round(_children_cpu_s() - cpu, 2)
    return result


def run_stage(photos: list[Path], root: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The real entry program on a ZIP of the photos, as a SageMaker processing job would run it."""
    shutil.rmtree(root, ignore_errors=True)
    inputs = root / "opt_ml" / "processing" / "input" / "photos"
    inputs.mkdir(parents=True)
    with zipfile.ZipFile(inputs / "survey.zip", "w", zipfile.ZIP_STORED) as zf:
        for p in photos:
            zf.write(p, f"survey/{p.name}")
    full_env = dict(os.environ, SPACEPORT_OPT_ML=str(root / "opt_ml"), **(env or {}))
    cpu = _children_cpu_s()
    started = time.perf_counter()
    log = root / "stage.log"
    with log.open("w") as fh:
        rc = subprocess.run(["bash", str(SFM_DIR / "entrypoint.sh")], env=full_env, stdout=fh, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    report_path = root / "opt_ml" / "processing" / "output" / "sfm" / "report.json"
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.exists() else {}
    report["exit_code"] = rc
    report["wall_s"] = round(wall, 2)
    report["process_cpu_s"] = round(_children_cpu_s() - cpu, 2)
    if rc != 0:
        failure = root / "opt_ml" / "output" / "failure"
        report["failure"] = failure.read_text().strip() if failure.exists() else f"exit {rc}, see {log}"
    return report


def _steps(result: dict[str, Any]) -> str:
    t, m = result.get("timings_s", {}), result.get("peak_memory_mb", {})
    c = result.get("cpu_s", {})
    m = dict(m, total=m.get("overall", 0))
    return "\n".join(f"    {k:<13} {v:>8.1f} s wall {c.get(k, 0):>7.1f} s CPU  {m.get(k, 0):>7.0f} MB peak" for k, v in t.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", type=int, default=24)
    parser.add_argument("--skip-subset", action="store_true")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "sfm")
    parser.add_argument("--seed-style-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_style_child:
        images, work, out = (Path(a) for a in args.seed_style_child)
        Path(out).write_text(json.dumps(seed_style(images, work), indent=2))
        return

    photos = sorted(caliterra().glob("*.jpg"))
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "dataset": str(photos[0].parent)}
    if not args.skip_subset:
        subset = photos[: args.subset]
        print(f"== {len(subset)}-photo subset: seed-style baseline (COLMAP defaults)", flush=True)
        base = run_seed_style(subset, args.out / "subset-seed")
        print(f"   placed {base['photos_placed']}/{len(subset)} in {base['timings_s']['total']:.1f} s "
              f"(wall {base['wall_s']:.1f} s, CPU {base['process_cpu_s']:.1f} s)\n{_steps(base)}", flush=True)
        print(f"== {len(subset)}-photo subset: this stage", flush=True)
        ours = run_stage(subset, args.out / "subset-stage")
        print(f"   placed {ours.get('photos_placed')}/{len(subset)} in {ours['timings_s']['total']:.1f} s "
              f"(wall {ours['wall_s']:.1f} s, CPU {ours['process_cpu_s']:.1f} s)\n{_steps(ours)}", flush=True)
        print(f"== {len(subset)}-photo subset: this stage with the incremental mapper (global vs incremental)", flush=True)
        incr = run_stage(subset, args.out / "subset-stage-incremental", {"SFM_MAPPER": "incremental"})
        print(f"   placed {incr.get('photos_placed')}/{len(subset)}, mapping {incr['timings_s'].get('mapping', 0):.1f} s "
              f"(global: {ours['timings_s'].get('mapping', 0):.1f} s), reprojection {incr.get('mean_reprojection_error_px')} px "
              f"(global: {ours.get('mean_reprojection_error_px')} px), GPS residual {(incr.get('gps') or {}).get('residual_m')} m "
              f"(global: {(ours.get('gps') or {}).get('residual_m')} m)", flush=True)
        core = ("features", "matching", "mapping")  # the steps the seed's figures cover
        ratio = sum(base["timings_s"][k] for k in core) / max(1e-9, sum(ours["timings_s"].get(k, 0) for k in core))
        ratio_total = base["wall_s"] / max(1e-9, ours["wall_s"])
        ratio_cpu = base["process_cpu_s"] / max(1e-9, ours["process_cpu_s"])
        summary["subset"] = {
            "photos": len(subset),
            "seed_style": base,
            "stage": ours,
            "stage_incremental_mapper": incr,
            "speedup_features_matching_mapping": round(ratio, 2),
            "speedup_wall": round(ratio_total, 2),
            "speedup_cpu": round(ratio_cpu, 2),
        }
        print(f"   speed-up, features+matching+mapping: {ratio:.1f}x; whole run (wall, incl. start-up and "
              f"undistortion): {ratio_total:.1f}x; whole run in CPU seconds (robust to other load): {ratio_cpu:.1f}x; "
              f"placed {ours.get('photos_placed')} vs {base['photos_placed']}", flush=True)
    if not args.skip_full:
        print(f"== all {len(photos)} photos: this stage", flush=True)
        full = run_stage(photos, args.out / "full-stage")
        gps = full.get("gps") or {}
        print(f"   placed {full.get('photos_placed')}/{len(photos)}, GPS residual {gps.get('residual_m')} m RMS "
              f"(max {gps.get('max_residual_m')} m), reprojection {full.get('mean_reprojection_error_px')} px, "
              f"{full.get('points')} points, matching {full.get('matching')}, mapper {full.get('mapper')}, "
              f"total {full['timings_s']['total']:.1f} s (wall {full['wall_s']:.1f} s, CPU {full['process_cpu_s']:.1f} s)\n{_steps(full)}", flush=True)
        if full.get("exit_code"):
            print(f"   FAILED: {full.get('failure')}", flush=True)
        summary["full"] = full
    (args.out / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written {args.out / 'bench.json'}", flush=True)


if __name__ == "__main__":
    main()
