"""The training bench's printed tables: rows with mean +- sd over seeds, ratios against the
compiled default measured in the same table, paired differences with a noise verdict, and the
memory summary (peaks, floors, what is above the floor)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

Row = dict[str, float]

# two-sided 95% Student t quantiles by sample size (n - 1 degrees of freedom)
T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}


@dataclass
class Table:
    title: str
    setting: str
    steps: int
    runs: dict[str, list[Row]]
    notes: list[str] = field(default_factory=list)
    options: bool = False  # an options table: differences against the default, with the noise verdict


def spread(vals: list[float], fmt: str) -> str:
    """mean, or mean +- sample standard deviation over seeds"""
    mean = statistics.fmean(vals)
    if len(vals) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)}+-{format(statistics.stdev(vals), fmt.lstrip('+'))}"


def verdict(diffs: list[float]) -> str:
    """Whether paired differences over seeds are beyond the noise (paired t-test, 95%)."""
    if len(diffs) < 2:
        return "one seed: no noise estimate"
    sd = statistics.stdev(diffs)
    half = T95.get(len(diffs), 2.0) * sd / math.sqrt(len(diffs))
    mean = statistics.fmean(diffs)
    where = "beyond the noise" if abs(mean) > half else "within the noise"
    return f"{where} (95% interval {mean - half:+.2f}..{mean + half:+.2f})"


def print_table(t: Table, tables: list[Table]) -> None:
    coarse = t.setting == "opensplat"
    print(f"\n== {t.title}")
    cols = ["s/step", "CPU s/step", "PSNR", "SSIM"] + (["PSNR@train res", "SSIM"] if coarse else [])
    cols += ["Gaussians", "peak RSS MiB", "peak anon MiB"]
    print(" | ".join(["row".ljust(9)] + [c.rjust(15) for c in cols]))
    for name, rows in t.runs.items():
        def col(key: str, fmt: str) -> str:
            vals = [r[key] for r in rows if key in r and r[key] == r[key]]  # NaN: not measured for this row
            return (spread(vals, fmt) if vals else "-").rjust(15)

        cells = [col("s_step", ".3f"), col("cpu_s_step", ".3f"), col("psnr", ".2f"), col("ssim", ".3f")]
        if coarse:
            cells += [col("psnr_low", ".2f"), col("ssim_low", ".3f")]
        cells += [col("gaussians", ".0f"), col("peak_mb", ".0f"), col("anon_mb", ".0f")]
        print(" | ".join([name.ljust(9)] + cells))
    for note in t.notes:
        print(f"{note}{_projection(note, t, tables)}")
    print_ratios(t)


def _projection(note: str, t: Table, tables: list[Table]) -> str:
    """For a skipped row: its s/step at the longest length it did run in this setting, projected."""
    variant = note.split(":")[0]
    done = [o for o in tables if o.setting == t.setting and o.runs.get(variant) and o.steps < t.steps]
    if not done:
        return ""
    o = max(done, key=lambda x: x.steps)
    s = statistics.fmean(r["s_step"] for r in o.runs[variant])
    return f"; it took {s:.3f} s/step at {o.steps} steps, so {t.steps} steps would take over {s * t.steps / 60:.0f} min"


def print_ratios(t: Table) -> None:
    """Ratios per seed, between rows that ran back to back under the same load."""
    base = t.runs.get("cpp")
    if not base:
        return
    for other, rows in t.runs.items():
        if other == "cpp" or not rows:
            continue
        pairs = list(zip(base, rows))
        sp = [o["s_step"] / c["s_step"] for c, o in pairs]
        cpu = [o["cpu_s_step"] / c["cpu_s_step"] for c, o in pairs]
        mem = [o["peak_mb"] / c["peak_mb"] for c, o in pairs]
        anon = [o["anon_mb"] / c["anon_mb"] for c, o in pairs if _measured(c, "anon_mb") and _measured(o, "anon_mb")]
        line = f"{other}/cpp: s/step x{spread(sp, '.2f')} (wall), x{spread(cpu, '.2f')} (CPU time)"
        if t.options:  # the difference that matters is the option's over the default
            dp = [o["psnr"] - c["psnr"] for c, o in pairs]
            ds = [o["ssim"] - c["ssim"] for c, o in pairs]
            line += f"; PSNR {other}-cpp {spread(dp, '+.2f')} dB, {verdict(dp)}; SSIM {spread(ds, '+.3f')}"
        else:
            dp = [c["psnr"] - o["psnr"] for c, o in pairs]
            line += f"; PSNR cpp-{other} {spread(dp, '+.2f')} dB"
        line += f"; peak RSS x{spread(mem, '.2f')}" + (f", anon x{spread(anon, '.2f')}" if anon else "")
        print(line)


def _measured(r: Row, key: str) -> bool:
    v = r.get(key)
    return v is not None and v == v and v > 0  # NaN: not measured (a reused run from before the sampler)


def print_memory(tables: list[Table], floors: dict[str, dict[str, float]]) -> None:
    print("\n== memory: each program's floor (libraries loaded, no work), MiB")
    for name, f in floors.items():
        anon = f"{f['anon_mb']:.0f}" if f["anon_mb"] > 0 else "- (exits before a sample)"
        print(f"{name.ljust(44)} peak RSS {f['peak_mb']:6.0f}   peak anon {anon}")
    ours = next((f for n, f in floors.items() if n.startswith("ours")), None)
    peer = next((f for n, f in floors.items() if n.startswith("OpenSplat")), None)
    if ours is None:
        return
    print("above the floor, per table (RSS: peak - floor peak; anon: peak - floor peak, MiB):")
    for t in tables:
        parts = []
        for name, rows in t.runs.items():
            fl = peer if name == "opensplat" else ours
            if fl is None or not rows:
                continue
            rss = statistics.fmean(r["peak_mb"] for r in rows) - fl["peak_mb"]
            anons = [r["anon_mb"] for r in rows if _measured(r, "anon_mb")]
            above = f"{statistics.fmean(anons) - fl['anon_mb']:+.0f}" if anons and fl["anon_mb"] > 0 else "-"
            parts.append(f"{name} RSS {rss:+.0f} anon {above}")
        print(f"  {t.setting} {t.steps} steps: " + ", ".join(parts))
