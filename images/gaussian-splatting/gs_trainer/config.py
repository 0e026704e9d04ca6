"""Hyperparameters: SageMaker passes every value as a string; parse and validate them here.

``quality`` picks a preset (preview | standard | high); any explicit key overrides it.
An unknown key or a bad value raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

PRESETS: dict[str, dict[str, Any]] = {
    # CPU-feasible: under a minute of training on 2 cores for ~36 photos at 800 px. Densifying
    # from step 100 (refinements every 100 steps to 900) and the first half at half resolution:
    # caliterra 16 photos at 200x150, held-out 31.0 dB vs 27.9 dB with neither (README, presets).
    # 1,000 steps, not 500: on a faint survey (few SfM points) 500 left a smooth blur with the
    # house missing (27.2 dB, 14.5% blur; 1,000 steps: 32.9 dB, 1.8%; README, harder surveys).
    "preview": {
        "steps": 1_000,
        "resolution_scale": 0.25,
        "max_gaussians": 100_000,
        "sh_degree": 1,
        "refine_start": 100,
        "num_downscales": 1,
        "resolution_schedule": 500,
    },
    # A T4 (16 GB) finishes in well under an hour on a ~100-photo survey.
    # Densification stops half-way (as gsplat's 15k of 30k) so the model settles before the end.
    # Both write an early model after a tenth of the steps (early.py), for the pipeline's preview link.
    "standard": {"steps": 7_000, "resolution_scale": 0.5, "max_gaussians": 1_500_000, "sh_degree": 3, "refine_stop": 3_500, "early_model_at": 0.1},
    # Full resolution, 30k steps as in the 3DGS paper; 3M Gaussians stays within 16 GB.
    "high": {"steps": 30_000, "resolution_scale": 1.0, "max_gaussians": 3_000_000, "sh_degree": 3, "early_model_at": 0.1},
}


# gsplat's threshold for absgrad (its DefaultStrategy docs: 0.0008 instead of 0.0002), whose
# absolute sums are larger than the plain gradient's norm
ABSGRAD_GROW_GRAD2D = 0.0008


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    quality: str = "standard"
    steps: int = 7_000
    resolution_scale: float = 0.5
    max_image_size: int = 0  # longest side in px after scaling; 0 = no limit
    # coarse-to-fine (nerfstudio's splatfacto, OpenSplat): train at 1/2**num_downscales of the
    # resolution above, doubling it every resolution_schedule steps; 0 = full resolution throughout
    num_downscales: int = 0
    resolution_schedule: int = 3_000
    max_gaussians: int = 1_500_000
    sh_degree: int = 3
    sh_degree_interval: int = 1_000
    backend: str = "auto"  # auto | cpp | torch | gsplat
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    holdout_every: int = 8  # every 8th image (by name, starting with the first) is held out; 0 = none
    holdout: list[str] = field(default_factory=list)  # explicit held-out image names (overrides holdout_every)
    checkpoint_every: int = 500
    # when to write the early model (early.py): a fraction of the steps (0 < x < 1) or a step; 0 = never
    early_model_at: float = 0.0
    log_every: int = 50
    eval_every: int = 0  # held-out PSNR every N steps (0 = only at the end)
    num_renders: int = 4
    densify: bool = True
    # densification: "default" (gsplat's DefaultStrategy: clone/split/prune) or "mcmc" (gsplat's
    # MCMCStrategy: relocate dead Gaussians, grow 5% per refinement up to the memory-derived cap)
    strategy: str = "default"
    refine_start: int = 500
    refine_stop: int = 15_000
    refine_every: int = 100
    reset_every: int = 3_000
    grow_grad2d: float = 0.0002  # with absgrad: ABSGRAD_GROW_GRAD2D unless set
    # gsplat's rendering options, on every backend (backends/__init__.py): "antialiased" scales
    # opacities by the compensation of the 0.3 px dilation (Mip-Splatting's 2D filter); absgrad
    # densifies on the sum of absolute per-pixel gradients (default strategy only)
    rasterize_mode: str = "classic"
    absgrad: bool = False
    grow_scale3d: float = 0.01
    prune_opacity: float = 0.005
    prune_scale3d: float = 0.1
    ssim_lambda: float = 0.2
    # per-image colour correction applied to renders of training images: "channel" (a gain and an
    # offset per colour channel), "affine" (a full 3x3 colour matrix + offset), "off", or "auto":
    # channel unless the photos' EXIF shows one exposure and manual white balance (exposure.py)
    exposure_compensation: str = "auto"
    lr_means: float = 1.6e-4
    lr_scales: float = 5e-3
    lr_quats: float = 1e-3
    lr_opacities: float = 5e-2
    lr_sh0: float = 2.5e-3
    lr_exposure: float = 1e-3
    threads: int = 0  # torch CPU threads; 0 = torch's default
    # held-out quality below these adds a warning to metrics.json (0 = no check); quality.py
    psnr_floor: float = 20.0
    coverage_floor: float = 0.75
    blur_floor: float = 0.05  # held-out equivalent blur (share of the width) above which the model is blurry

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def downscale_at(self, step: int) -> int:
        """The image downscale factor that training uses at ``step`` (0-based)."""
        return int(2 ** max(self.num_downscales - step // self.resolution_schedule, 0))


def _int(lo: int, hi: int | None = None) -> Callable[[str, Any], int]:
    def parse(key: str, v: Any) -> int:
        try:
            if isinstance(v, bool):
                raise ValueError
            if isinstance(v, str):
                s = v.strip().replace("_", "")
                f = float(s)
            else:
                f = float(v)
            if f != int(f):
                raise ValueError
            x = int(f)
        except (ValueError, OverflowError):
            raise ConfigError(f"hyperparameter '{key}' must be an integer, got {v!r}") from None
        if x < lo or (hi is not None and x > hi):
            rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
            raise ConfigError(f"hyperparameter '{key}' must be {rng}, got {x}")
        return x

    return parse


def _float(lo: float, hi: float | None = None, lo_open: bool = False) -> Callable[[str, Any], float]:
    def parse(key: str, v: Any) -> float:
        try:
            if isinstance(v, bool):
                raise ValueError
            x = float(v)
        except (ValueError, TypeError):
            raise ConfigError(f"hyperparameter '{key}' must be a number, got {v!r}") from None
        if x != x or x < lo or (lo_open and x == lo) or (hi is not None and x > hi):
            rng = f"{'>' if lo_open else '>='} {lo}" + ("" if hi is None else f" and <= {hi}")
            raise ConfigError(f"hyperparameter '{key}' must be {rng}, got {v!r}")
        return x

    return parse


def _bool(key: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "yes", "on"):
        return True
    if s in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"hyperparameter '{key}' must be true or false, got {v!r}")


def _exposure(key: str, v: Any) -> str:
    s = str(v).strip().lower()
    if s in ("auto", "channel", "affine", "off"):
        return s
    try:  # true/false as before the models had names
        return "channel" if _bool(key, v) else "off"
    except ConfigError:
        raise ConfigError(f"hyperparameter '{key}' must be auto, channel, affine or off, got {v!r}") from None


def _choice(*options: str) -> Callable[[str, Any], str]:
    def parse(key: str, v: Any) -> str:
        s = str(v).strip().lower()
        if s not in options:
            raise ConfigError(f"hyperparameter '{key}' must be one of {', '.join(options)}, got {v!r}")
        return s

    return parse


def _names(key: str, v: Any) -> list[str]:
    if isinstance(v, list):
        items = [str(x) for x in v]
    else:
        items = str(v).split(",")
    out = [s.strip() for s in items if s.strip()]
    return out


PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "quality": _choice(*PRESETS),
    "steps": _int(1, 1_000_000),
    "resolution_scale": _float(0.0, 1.0, lo_open=True),
    "max_image_size": _int(0, 20_000),
    "num_downscales": _int(0, 6),
    "resolution_schedule": _int(1),
    "max_gaussians": _int(1, 50_000_000),
    "sh_degree": _int(0, 3),
    "sh_degree_interval": _int(1),
    "backend": _choice("auto", "cpp", "torch", "gsplat"),
    "device": _choice("auto", "cpu", "cuda"),
    "seed": _int(0),
    "holdout_every": _int(0),
    "holdout": _names,
    "checkpoint_every": _int(0),
    "early_model_at": _float(0.0),
    "log_every": _int(1),
    "eval_every": _int(0),
    "num_renders": _int(0, 1000),
    "densify": _bool,
    "strategy": _choice("default", "mcmc"),
    "refine_start": _int(0),
    "refine_stop": _int(0),
    "refine_every": _int(1),
    "reset_every": _int(1),
    "grow_grad2d": _float(0.0, lo_open=True),
    "rasterize_mode": _choice("classic", "antialiased"),
    "absgrad": _bool,
    "grow_scale3d": _float(0.0, lo_open=True),
    "prune_opacity": _float(0.0, 1.0),
    "prune_scale3d": _float(0.0, lo_open=True),
    "ssim_lambda": _float(0.0, 1.0),
    "exposure_compensation": _exposure,
    "lr_means": _float(0.0),
    "lr_scales": _float(0.0),
    "lr_quats": _float(0.0),
    "lr_opacities": _float(0.0),
    "lr_sh0": _float(0.0),
    "lr_exposure": _float(0.0),
    "threads": _int(0, 1024),
    "psnr_floor": _float(0.0, 100.0),
    "coverage_floor": _float(0.0, 1.0),
    "blur_floor": _float(0.0, 1.0),
}
assert set(PARSERS) == {f.name for f in fields(Config)}


def parse_hyperparameters(raw: dict[str, Any]) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("hyperparameters.json must hold a JSON object")
    unknown = sorted(k for k in raw if k not in PARSERS and not k.startswith("sagemaker_"))
    if unknown:
        raise ConfigError(
            f"unknown hyperparameter '{unknown[0]}' (known: {', '.join(sorted(PARSERS))})"
        )
    quality = PARSERS["quality"]("quality", raw.get("quality", "standard"))
    values: dict[str, Any] = {"quality": quality, **PRESETS[quality]}
    for key, v in raw.items():
        if key in PARSERS and key != "quality":
            values[key] = PARSERS[key](key, v)
    _densify_on(values, raw)
    cfg = Config(**values)
    if cfg.early_model_at >= 1 and cfg.early_model_at >= cfg.steps:
        raise ConfigError(f"hyperparameter 'early_model_at' ({cfg.early_model_at:g}) must come before the last step ({cfg.steps}): a fraction below 1 or a step number")
    if cfg.holdout_every == 1:
        raise ConfigError("hyperparameter 'holdout_every' must be 0 (none) or >= 2: 1 would hold out every image")
    return cfg


def _densify_on(values: dict[str, Any], raw: dict[str, Any]) -> None:
    """absgrad's consequences: its own growth threshold unless the request or the preset gives one,
    and an error when it is asked for where nothing reads it (a preset's absgrad is then dropped)."""
    if not values.get("absgrad"):
        return
    strategy, densify = values.get("strategy", "default"), values.get("densify", True)
    if strategy != "default" or not densify:
        if "absgrad" in raw:
            why = "strategy=mcmc does not use screen-space gradients" if strategy != "default" else "densify is off"
            raise ConfigError(f"hyperparameter 'absgrad' applies to the default densification strategy only ({why}); drop absgrad or set it to false")
        values["absgrad"] = False
        return
    if "grow_grad2d" not in raw and "grow_grad2d" not in PRESETS[values["quality"]]:
        values["grow_grad2d"] = ABSGRAD_GROW_GRAD2D


def load_hyperparameters(path: Path) -> Config:
    if not path.exists():
        return parse_hyperparameters({})
    try:
        raw = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path.name} is not valid JSON: {e}") from None
    return parse_hyperparameters(raw)
