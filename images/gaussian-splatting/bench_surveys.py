"""Harder surveys benchmark (npm run bench:surveys): the generated sample survey and its harder
variants through the SfM stage and a training preset (default `preview`, as `npm run demo` and a
user's first local try run it), over seeds. It answers: on a survey that SfM places, is the model
recognisable, and when it is not, does the job say so (the `model_blurry` / `model_incomplete`
warnings that reach the delivery and the email)?

Variants (samples/survey.py options; each rendered once, deterministic, cached under
.bench/gaussian-splatting/surveys/):
  plain        the demo's survey: 36 photos, 800x600, orbit + grid
  low-texture  --texture-contrast 0.25: every surface's texture at a quarter of its contrast
  faint        --texture-contrast 0.1: a tenth (few SfM points, little for densification to grow on)
  repeated     --texture-repeat 8: the ground one patch tiled 8 x 8 times
  exposure     --exposure-change 0.7: auto exposure, each photo brighter or darker (sd 0.7 stops),
               with the matching shutter time in its EXIF

Per variant: photos placed by SfM and its points (run once), then per seed the held-out PSNR,
SSIM, equivalent blur (the share of the width over which the photos must be blurred to differ
from themselves as much as the renders do: PSNR alone passes a smooth model of a low-contrast
site), coverage, the worst held-out photo's PSNR, the warnings, s/step and Gaussians (mean+-sd
over seeds), and the difference from the plain survey paired per seed.

    python images/gaussian-splatting/bench_surveys.py [--variants plain,low-texture,repeated,exposure]
        [--seeds 3] [--quality preview] [--count 36] [--threads 2] [--set KEY=VALUE] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_report import spread, verdict
from bench_stage import ROOT, run_sfm, run_training

BENCH = ROOT / ".bench" / "gaussian-splatting" / "surveys"
VARIANTS: dict[str, list[str]] = {
    "plain": [],
    "low-texture": ["--texture-contrast", "0.25"],
    "faint": ["--texture-contrast", "0.1"],
    "repeated": ["--texture-repeat", "8"],
    "exposure": ["--exposure-change", "0.7"],
}


def survey(variant: str, count: int) -> list[Path]:
    """The variant's photos, rendered on first use (samples.survey, seed 0)."""
    out = BENCH / f"{variant}-{count}"
    photos = sorted((out / "photos").glob("DJI_*.JPG"))
    if (out / "survey.zip").is_file() and len(photos) == count:
        return photos
    print(f"bench: rendering the {variant} survey ({count} photos) into {out}", flush=True)
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "samples.survey", "--out", str(out), "--count", str(count), "--force", *VARIANTS[variant]]
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"the survey generator failed ({variant}): {r.stderr.strip()[-500:]}")
    print(f"bench: rendered in {time.perf_counter() - t:.0f} s", flush=True)
    return sorted((out / "photos").glob("DJI_*.JPG"))


def row(m: dict[str, Any]) -> dict[str, Any]:
    worst = min((r["psnr"] for r in m["held_out"]), default=float("nan"))
    at_mean = m.get("psnr_at_mean_exposure")
    return {
        "psnr": m["psnr"], "ssim": m["ssim"], "coverage": m["coverage"], "worst": worst,
        "psnr_mean_exposure": m["psnr"] if at_mean is None else at_mean, "exposure": m.get("exposure_compensation", "?"),
        "blur_pct": 100 * m["equivalent_blur"] if m.get("equivalent_blur") is not None else float("nan"),
        "s_step": m["s_per_step"], "gaussians": m["gaussians"], "warnings": [w["code"] for w in m["warnings"]],
    }


def print_results(results: dict[str, dict[str, Any]], quality: str) -> None:
    print(f"\n== harder surveys, quality {quality}: held-out photos (every 8th), mean+-sd over seeds")
    cols = ["placed", "SfM points", "exposure", "PSNR", "at mean exp.", "SSIM", "blur % width", "coverage", "worst PSNR", "s/step", "Gaussians", "warnings"]
    print(" | ".join(["variant".ljust(12)] + [c.rjust(13) for c in cols]))
    plain = results.get("plain")
    for name, res in results.items():
        runs: list[dict[str, Any]] = res["runs"]

        def col(key: str, fmt: str) -> str:
            vals = [r[key] for r in runs if r[key] == r[key]]  # NaN: not measured (a run from before the figure)
            return spread(vals, fmt).rjust(13) if vals else "-".rjust(13)

        codes = sorted({c for r in runs for c in r["warnings"]})
        warned = ", ".join(f"{c} x{sum(c in r['warnings'] for r in runs)}" for c in codes) or "none"
        cells = [f"{res['placed']}/{res['received']}".rjust(13), str(res["points"]).rjust(13)]
        cells += ["/".join(sorted({str(r["exposure"]) for r in runs})).rjust(13)]
        cells += [col("psnr", ".2f"), col("psnr_mean_exposure", ".2f"), col("ssim", ".3f"), col("blur_pct", ".1f"), col("coverage", ".3f"), col("worst", ".2f"),
                  col("s_step", ".3f"), col("gaussians", ".0f"), warned.rjust(13)]
        print(" | ".join([name.ljust(12)] + cells))
    if plain is None:
        return
    for name, res in results.items():
        pairs = list(zip(res["runs"], plain["runs"]))
        if name == "plain" or not pairs:
            continue
        diffs = [a["psnr"] - b["psnr"] for a, b in pairs]
        print(f"{name} - plain, held-out PSNR per seed: {spread(diffs, '+.2f')} dB, {verdict(diffs)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--seeds", type=int, default=3, help="training seeds per variant, 0..N-1 (default 3)")
    ap.add_argument("--quality", default="preview", choices=["preview", "standard", "high"], help="training preset (default preview)")
    ap.add_argument("--count", type=int, default=36, help="photos per survey (default 36, the demo's)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of every trainer (default 2; 0 = library default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra hyperparameter")
    ap.add_argument("--reuse", action="store_true", help="take finished runs of the same inputs from .bench/ instead of training again (printed)")
    a = ap.parse_args()
    names = [v for v in a.variants.split(",") if v]
    bad = [v for v in names if v not in VARIANTS] + [kv for kv in a.set if "=" not in kv]
    if bad or not names or a.seeds < 1 or a.count < 8:
        sys.exit(f"bench: bad arguments ({bad[0] if bad else 'need a variant, --seeds >= 1, --count >= 8'}); variants: {', '.join(VARIANTS)}")
    extra = dict(kv.split("=", 1) for kv in a.set)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in names:
            sfm = run_sfm(BENCH / f"sfm-{name}-{a.count}", survey(name, a.count), 800)
            report = json.loads((sfm / "report.json").read_text())
            res: dict[str, Any] = {"placed": report["photos_placed"], "received": report["photos_received"], "points": report["points"], "runs": []}
            for seed in range(a.seeds):
                hyper = {"quality": a.quality, "seed": str(seed), "threads": str(a.threads), "checkpoint_every": "0", "num_renders": "1", **extra}
                label = f"{name} survey, {a.quality}, seed {seed}"
                m = run_training(BENCH / f"train-{name}-{a.count}-{a.quality}-s{seed}", sfm, hyper, label, a.reuse)
                res["runs"].append(row(m))
                r = res["runs"][-1]
                print(f"bench: {label}: held-out {r['psnr']:.2f} dB / {r['ssim']:.3f}, worst {r['worst']:.2f} dB, "
                      f"coverage {r['coverage']:.3f}, warnings {r['warnings'] or 'none'}", flush=True)
            results[name] = res
    except RuntimeError as e:
        sys.exit(f"bench: {e}")
    (BENCH / f"result-{a.quality}.json").write_text(json.dumps(results, indent=1))
    print_results(results, a.quality)
    print("\nplaced: photos the SfM stage placed of those received. exposure: the trainer's exposure compensation "
          "(auto: from the photos' EXIF). PSNR/SSIM: with compensation on, after fitting each held-out photo's "
          "exposure (what the quality warnings read); at mean exp.: at the training photos' mean. blur % width: the "
          "held-out photos' equivalent blur (lower median; 25 = a quarter or more: no structure). coverage: share of "
          "held-out pixels where the model's opacity reaches 0.5. worst PSNR: the worst held-out photo. warnings: how "
          "many seeds' jobs carry each (model_blurry under 20 dB or above 5% blur; model_incomplete under 0.75 coverage).")


if __name__ == "__main__":
    main()
