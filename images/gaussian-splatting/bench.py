"""Caliterra training benchmark (npm run bench:train): both CPU backends beside OpenSplat, and
the densification and rendering options against the default, in one run.

Data: the first 16 caliterra photos (IMG_9354-IMG_9369), IMG_9361 held out. The SfM model
comes from the SfM stage's own entry program (images/sfm/entrypoint.sh), run once and cached
under .bench/gaussian-splatting/; --sfm DIR uses another SfM output folder instead.

Peer tables, one per setting (--settings) and length (--steps, comma-separated):
  opensplat  OpenSplat's defaults on 400x300 input: coarse-to-fine (--num-downscales 2,
             --resolution-schedule 3000), so below step 3000 it trains, and renders its
             validation image, at 100x75; scored at 100x75 and at 400x300
  400        400x300 throughout (num_downscales=0)
  800        800x600 throughout
with OpenSplat's other defaults (densify from step 500 every 100, opacity reset every 3000, SH
degree +1 every 1000, 0.2 D-SSIM). Rows (--variants): cpp and torch (the two CPU backends), and
OpenSplat (the peer, never part of this repository) on the same SfM model and held-out photo when
SPACEPORT_OPENSPLAT names its binary (bench_peer.py), its PLY scored by the same evaluation;
otherwise the bench says it was not run. --skip VARIANT@SETTING@STEPS leaves a row out (default:
the PyTorch backend at 2000 steps, which would take most of the bench's time on 2 cores) and
prints it as not run, with the time its 300-step run projects.

Options table (--options, at --options-setting for --options-steps, --options-seeds seeds):
the default (cpp) against mcmc (MCMC densification), absgrad (densify on absolute per-pixel
gradients, grow_grad2d 0.0008) and aa (rasterize_mode=antialiased), all on the compiled backend.
The setting "preview" is the preview preset itself on the bench's 800 px SfM images (1,000 steps,
resolution_scale 0.25: 200x150, 100x75 for the first 500; densifying from step 100; SH degree 1). Differences are paired per seed; "beyond the noise"
means a paired t-test at 95%.

Memory: peak resident set (the kernel's, wait4) and the peak of its anonymous part (RssAnon,
sampled every 50 ms, the same sampler for ours and OpenSplat), and each
program's floor: what it holds after loading its libraries, before any work (bench_memory.py).
Each run of a table runs under the same machine load as its neighbours, so ratios are per seed.

    python images/gaussian-splatting/bench.py [--steps 300,2000] [--settings opensplat,400]
        [--variants cpp,torch] [--options cpp,mcmc,absgrad,aa] [--options-seeds 3]
        [--sfm DIR] [--threads N] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench_memory import floor
from bench_peer import binary, run_opensplat
from bench_report import Table, print_memory, print_table
from bench_stage import run_sfm, run_training

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BENCH = ROOT / ".bench" / "gaussian-splatting"
PHOTOS = [f"IMG_{i}.jpg" for i in range(9354, 9370)]
HELD_OUT = "IMG_9361"
SETTINGS: dict[str, dict[str, str]] = {
    "opensplat": {"max_image_size": "400", "num_downscales": "2", "resolution_schedule": "3000"},
    "400": {"max_image_size": "400", "num_downscales": "0"},
    "800": {"max_image_size": "800", "num_downscales": "0"},
    # the preview preset itself (config.PRESETS: resolution_scale 0.25, of the bench's 800 px SfM
    # images 200x150; 100x75 for the first 500 steps; densify from step 100; SH degree 1)
    "preview": {"resolution_scale": "0.25", "num_downscales": "1", "resolution_schedule": "500", "refine_start": "100", "sh_degree": "1"},
}
# the rows a variant names: (backend, extra hyperparameters)
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "cpp": ("cpp", {}),
    "torch": ("torch", {}),
    "mcmc": ("cpp", {"strategy": "mcmc"}),
    "absgrad": ("cpp", {"absgrad": "true"}),
    "aa": ("cpp", {"rasterize_mode": "antialiased"}),
}


def dataset() -> Path:
    d = Path(os.environ.get("SPACEPORT_CALITERRA", ROOT.parent / "shared" / "datasets" / "caliterra"))
    missing = [p for p in PHOTOS if not (d / p).is_file()]
    if missing:
        sys.exit(f"bench: caliterra photos missing in {d} ({', '.join(missing[:3])}...); set SPACEPORT_CALITERRA")
    return d


def sfm_model() -> Path:
    """Runs the SfM stage on the 16 photos once; later runs reuse its output."""
    src = dataset()
    return run_sfm(BENCH / "sfm16", [src / p for p in PHOTOS], 800)


REUSE = False  # --reuse: a run whose folder already holds its result for the same inputs is not trained again


def train(sfm: Path, steps: int, setting: str, variant: str, seed: int, threads: int, extra: dict[str, str]) -> dict[str, Any]:
    backend, variant_hyper = VARIANTS[variant]
    hyper = {
        "quality": "preview", "steps": str(steps), "resolution_scale": "1", "resolution_schedule": "3000",
        # OpenSplat's defaults (see above)
        "refine_start": "500", "refine_every": "100", "refine_stop": "15000", "reset_every": "3000",
        "sh_degree_interval": "1000", "ssim_lambda": "0.2", "sh_degree": "3", "max_gaussians": "1000000",
        "holdout": HELD_OUT, "checkpoint_every": "0", "log_every": "50", "num_renders": "1",
        "threads": str(threads), "backend": backend, "seed": str(seed),
        **SETTINGS[setting], **variant_hyper, **extra,
    }
    label = f"{setting} {steps} steps, {variant} (backend {backend}), seed {seed}"
    return run_training(BENCH / f"train-{setting}-{steps}-{variant}-s{seed}", sfm, hyper, label, REUSE)


def figures(m: dict[str, Any]) -> dict[str, float]:
    """The figures a row prints; PSNR/SSIM also at the resolution training ended at, if coarser."""
    low = m.get("at_training_resolution") or {"psnr": m["psnr"], "ssim": m["ssim"]}
    return {
        "s_step": m["s_per_step"], "cpu_s_step": m["cpu_s_per_step"], "psnr": m["psnr"], "ssim": m["ssim"],
        "psnr_low": low["psnr"], "ssim_low": low["ssim"], "gaussians": m["gaussians"],
        "peak_mb": m["bench_peak_mb"], "anon_mb": m["bench_anon_mb"],
    }


WHAT = {
    "opensplat": "OpenSplat's setting (400x300 input, trained at 100x75 below step 3000)",
    "400": "400x300 throughout", "800": "800x600 throughout",
    "preview": "the preview preset (200x150, 100x75 for the first 500 steps, densify from step 100)",
}


def peer_table(a: argparse.Namespace, sfm: Path, setting: str, steps: int, exe: Path | None, extra: dict[str, str]) -> Table:
    variants = [v for v in a.variants.split(",") if f"{v}@{setting}@{steps}" not in a.skip]
    skipped = [v for v in a.variants.split(",") if v not in variants]
    table = Table(f"caliterra 16 photos, {WHAT[setting]}, {steps} steps, {a.seeds} seed(s), held out {HELD_OUT}",
                  setting, steps, {v: [] for v in variants}, [f"{v}: not run at {steps} steps (--skip)" for v in skipped])
    for seed in range(a.seeds):
        for variant in variants:
            table.runs[variant].append(figures(train(sfm, steps, setting, variant, seed, a.threads, extra)))
        if exe is not None and seed < a.peer_seeds:  # OpenSplat has no seed option: runs differ only by chance
            hyper = {k: v for k, v in SETTINGS[setting].items() if k == "max_image_size"}
            row = run_opensplat(exe, sfm, BENCH / f"opensplat-{setting}-{steps}-r{seed}", setting, steps, HELD_OUT, a.threads, {**hyper, "resolution_scale": "1"})
            table.runs.setdefault("opensplat", []).append(row)
    return table


def options_table(a: argparse.Namespace, sfm: Path, extra: dict[str, str]) -> Table:
    setting, steps = a.options_setting, a.options_steps
    # VARIANT:N runs that row with N seeds only (0..N-1), the others with --options-seeds
    seeds = {v.split(":")[0]: int(v.split(":")[1]) if ":" in v else a.options_seeds for v in a.options.split(",")}
    table = Table(f"options, caliterra 16 photos, {WHAT[setting]}, {steps} steps, {a.options_seeds} seeds, held out {HELD_OUT}",
                  setting, steps, {v: [] for v in seeds}, [], options=True)
    for seed in range(a.options_from, max(seeds.values())):
        for variant, n in seeds.items():
            if seed < n:
                table.runs[variant].append(figures(train(sfm, steps, setting, variant, seed, a.threads, extra)))
    table.notes += [f"{v}: {n} seed(s) only (--options {v}:{n})" for v, n in seeds.items() if n < a.options_seeds]
    return table


def floors(exe: Path | None) -> dict[str, dict[str, float]]:
    """Each program with its libraries loaded and no work done."""
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'shared'}"}
    ours = "import time, torch; from gs_trainer.backends.compiled import load; assert load().ok; time.sleep(1)"
    out = {"ours: python, torch, compiled backend": floor([sys.executable, "-c", ours], env)}
    out["python + import torch only"] = floor([sys.executable, "-c", "import time, torch; time.sleep(1)"], env)
    if exe is not None:
        out["OpenSplat: --help (libtorch_cpu, OpenCV)"] = floor([str(exe), "--help"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--steps", default="300,2000", help="comma-separated lengths of the peer tables (default 300,2000)")
    ap.add_argument("--settings", default="opensplat,400", help=f"comma-separated, of {', '.join(SETTINGS)}")
    ap.add_argument("--variants", default="cpp,torch", help=f"comma-separated rows, of {', '.join(VARIANTS)}")
    ap.add_argument("--skip", default="torch@400@2000,torch@opensplat@2000", help="comma-separated VARIANT@SETTING@STEPS rows not to run")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per peer-table run, 0..N-1 (default 1)")
    ap.add_argument("--peer-seeds", type=int, default=1, help="OpenSplat runs per setting, at most --seeds (default 1)")
    ap.add_argument("--options", default="cpp,mcmc,absgrad,aa", help="rows of the options table ('' for none)")
    ap.add_argument("--options-setting", default="preview", help="setting of the options table (default preview)")
    ap.add_argument("--options-steps", type=int, default=1000, help="length of the options table (default 1000, the preview preset's)")
    ap.add_argument("--options-seeds", type=int, default=3, help="seeds of the options table (default 3)")
    ap.add_argument("--options-from", type=int, default=0, help="first seed of the options table (default 0; to split a long table over runs, with --reuse)")
    ap.add_argument("--sfm", type=Path, help="an SfM output folder (sparse/0 + images/) instead of running the SfM stage")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of every trainer (default 2; 0 = library default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra hyperparameter")
    ap.add_argument("--reuse", action="store_true", help="take finished runs of the same inputs from .bench/ instead of training again (printed)")
    a = ap.parse_args()
    global REUSE
    REUSE = a.reuse
    a.skip = set(filter(None, a.skip.split(",")))
    names = a.variants.split(",") + [v.split(":")[0] for v in a.options.split(",") if v]
    bad = [s for s in a.settings.split(",") + [a.options_setting] if s not in SETTINGS] + [v for v in names if v not in VARIANTS]
    if bad:
        sys.exit(f"bench: unknown setting or variant '{bad[0]}' (settings: {', '.join(SETTINGS)}; variants: {', '.join(VARIANTS)})")
    extra = dict(kv.split("=", 1) for kv in a.set)
    try:
        sfm = a.sfm if a.sfm else sfm_model()
    except RuntimeError as e:
        sys.exit(f"bench: {e}; pass --sfm DIR with a COLMAP model instead")
    exe, why = binary()
    print(f"bench: OpenSplat {'at ' + why if exe else 'will not be run: ' + why}", flush=True)
    tables: list[Table] = []
    lengths = [int(n) for n in a.steps.split(",") if n]  # --steps '': the options table alone
    jobs = [(setting, n) for n in lengths for setting in a.settings.split(",")] + ([("options", 0)] if a.options else [])
    for setting, n in jobs:  # each table printed as soon as it is measured
        try:
            tables.append(options_table(a, sfm, extra) if setting == "options" else peer_table(a, sfm, setting, n, exe, extra))
        except RuntimeError as e:
            sys.exit(f"bench: {e}")
        print_table(tables[-1], tables)
    mem_floors = floors(exe)
    (BENCH / f"result-{a.steps.replace(',', '-') or 'none'}-{'options' if a.options else 'no-options'}.json").write_text(json.dumps({"tables": [t.__dict__ for t in tables], "floors": mem_floors}, indent=1))
    print_memory(tables, mem_floors)
    if exe is None:
        print(f"\nOpenSplat: not run ({why}); no figures of it are printed.")
    print("\nPSNR/SSIM: the held-out photo at full size; 'at train res': at the resolution training ended at "
          "(OpenSplat's validation render). s/step: wall clock; CPU s/step: process CPU time (all threads), "
          "steadier on a shared machine. Over seeds: mean+-sd. OpenSplat: s/step between its first and last "
          "progress lines, PSNR/SSIM its PLY rendered by our evaluation. peak RSS: the kernel's maximum resident "
          "set of the process; anon: sampled peak of its anonymous part (RssAnon), same sampler for every row.")


if __name__ == "__main__":
    main()
