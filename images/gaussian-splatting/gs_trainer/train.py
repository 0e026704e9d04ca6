"""The training loop: Adam, SH schedule, densification, exposure compensation, checkpoints with resume, evaluation, outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .adam import Adam
from .backends import Backend, RenderMode, RenderOutput, rasterize, resolve_backend, screen_grad
from .config import Config
from .contract import Paths, StageError, progress
from .data import Scene, View, load_scene
from . import held_out
from .early import after_step
from .exposure import choose_model
from .gaussians import activated, init_params, write_ply
from .mcmc import MCMCStrategy, memory_cap, regularisers
from .metrics import loss_fn, psnr, ssim
from .outputs import cameras_json, peak_memory_mb
from .quality import warnings_for
from .strategy import DefaultStrategy, StrategyState

CKPT_PREFIX = "ckpt-"
TRAINING_KEYS = ("steps", "resolution_scale", "max_image_size", "num_downscales", "resolution_schedule", "max_gaussians", "sh_degree", "seed", "holdout_every", "holdout", "exposure_compensation", "strategy", "rasterize_mode", "absgrad")


@dataclass
class Trainer:
    cfg: Config
    scene: Scene
    device: torch.device
    backend: Backend
    params: dict[str, torch.nn.Parameter] = field(default_factory=dict)
    optims: dict[str, Adam] = field(default_factory=dict)
    exposure: torch.nn.Parameter | None = None
    exposure_opt: Adam | None = None
    exposure_mask: Tensor | None = None  # which of the [3, 4] transform's entries learn
    exposure_model: str = "off"  # what exposure_compensation resolved to
    state: StrategyState | None = None
    step: int = 0
    elapsed: float = 0.0  # training seconds over all segments (resume included)
    resumed_from: int | None = None
    # behind transparent pixels: black in training; score --background: another trainer's colour
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)

    # --- set-up -------------------------------------------------------------------
    def init(self) -> None:
        raw = init_params(self.scene.points, self.scene.colors, self.cfg.sh_degree, self.cfg.max_gaussians, self.cfg.seed)
        self._set_params(raw)
        n_img = len(self.scene.views)
        model, why = choose_model(self.cfg.exposure_compensation, [v.photo for v in self.scene.train])
        self.exposure_model = model
        print(f"exposure compensation: {model} ({why})", flush=True)
        if model != "off":
            eye = torch.zeros(n_img, 3, 4)
            eye[:, :, :3] = torch.eye(3)
            self.exposure = torch.nn.Parameter(eye.to(self.device))
            self.exposure_opt = Adam([self.exposure], lr=self.cfg.lr_exposure, eps=1e-15)
            # "channel": only the diagonal gains and the offsets learn (cross-channel terms get no
            # gradient and stay 0); a full matrix per photo also absorbs view-dependent misfit,
            # which held-out photos, scored with the mean transform, cannot use
            self.exposure_mask = torch.ones(3, 4, device=self.device)
            if model == "channel":
                self.exposure_mask[:, :3] = torch.eye(3, device=self.device)
        self.state = StrategyState.fresh(self.params["means"].shape[0], self.device)

    def _set_params(self, raw: dict[str, Tensor]) -> None:
        cfg = self.cfg
        lrs = {
            "means": cfg.lr_means * self.scene.scene_scale,
            "scales": cfg.lr_scales,
            "quats": cfg.lr_quats,
            "opacities": cfg.lr_opacities,
            "sh0": cfg.lr_sh0,
            "shN": cfg.lr_sh0 / 20.0,
        }
        self.params = {k: torch.nn.Parameter(v.to(self.device).float().contiguous()) for k, v in raw.items()}
        self.optims = {k: Adam([p], lr=lrs[k], eps=1e-15) for k, p in self.params.items()}
        self.base_lr_means = lrs["means"]

    # --- checkpoints ------------------------------------------------------------------
    def checkpoint_payload(self) -> dict[str, Any]:
        assert self.state is not None
        return {
            "step": self.step,
            "elapsed": self.elapsed,
            "config": {k: getattr(self.cfg, k) for k in TRAINING_KEYS},
            "params": {k: v.detach().cpu() for k, v in self.params.items()},
            "optims": {k: o.state_dict() for k, o in self.optims.items()},
            "exposure": None if self.exposure is None else self.exposure.detach().cpu(),
            "exposure_opt": None if self.exposure_opt is None else self.exposure_opt.state_dict(),
            "strategy": {k: v.cpu() for k, v in self.state.state_dict().items()},
            "rng": torch.get_rng_state(),
        }

    def save_checkpoint(self, ckpt_dir: Path, keep: int = 2) -> Path:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        path = ckpt_dir / f"{CKPT_PREFIX}{self.step:07d}.pt"
        tmp = ckpt_dir / f".{path.name}.tmp"
        torch.save(self.checkpoint_payload(), tmp)
        tmp.replace(path)  # atomic: a kill mid-write leaves the previous checkpoint intact
        for old in sorted(ckpt_dir.glob(f"{CKPT_PREFIX}*.pt"))[:-keep]:
            old.unlink(missing_ok=True)
        return path

    def try_resume(self, ckpt_dir: Path) -> bool:
        if not ckpt_dir.is_dir():
            return False
        for path in sorted(ckpt_dir.glob(f"{CKPT_PREFIX}*.pt"), reverse=True):
            try:
                ck = torch.load(path, map_location="cpu", weights_only=False)
            except Exception as e:  # a corrupt file: try the previous one
                print(f"checkpoint {path.name} unreadable ({e}); trying an older one", flush=True)
                continue
            want = {k: getattr(self.cfg, k) for k in TRAINING_KEYS}
            if ck.get("config") != want:
                print(f"checkpoint {path.name} was made with other hyperparameters; starting afresh", flush=True)
                return False
            self._set_params(ck["params"])
            for k, o in self.optims.items():
                o.load_state_dict(ck["optims"][k])
            if ck["exposure"] is not None and self.exposure is not None and self.exposure_opt is not None:
                self.exposure.data.copy_(ck["exposure"].to(self.device))
                self.exposure_opt.load_state_dict(ck["exposure_opt"])
            self.state = StrategyState(ck["strategy"]["grad2d"].to(self.device), ck["strategy"]["count"].to(self.device))
            torch.set_rng_state(ck["rng"])
            self.step = int(ck["step"])
            self.elapsed = float(ck["elapsed"])
            self.resumed_from = self.step
            print(f"resumed from checkpoint {path.name} at step {self.step}", flush=True)
            return True
        return False

    # --- rendering ----------------------------------------------------------------------
    def render(self, view: View, sh_degree: int, params: dict[str, Tensor] | None = None) -> RenderOutput:
        p = params if params is not None else self.params
        means, quats, scales, opac, sh = activated(p)  # type: ignore[arg-type]
        return rasterize(
            self.backend,
            means,
            quats,
            scales,
            opac,
            sh,
            view.viewmat.to(self.device),
            view.K.to(self.device),
            view.width,
            view.height,
            sh_degree,
            torch.tensor(self.background, device=self.device),
            RenderMode(self.cfg.rasterize_mode == "antialiased", self.cfg.absgrad),
        )

    def training_ssim(self) -> Callable[[Tensor, Tensor], Tensor]:
        """The loss's SSIM: the compiled backend's fused one with it (metrics.ssim's value)."""
        if self.backend == "cpp":
            from .backends.cpp_ssim import ssim_cpp

            return ssim_cpp
        return ssim

    def view_order(self, step: int) -> View:
        train = self.scene.train
        epoch, i = divmod(step, len(train))
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        return train[int(torch.randperm(len(train), generator=g)[i])]

    # --- the loop -------------------------------------------------------------------------
    def train(self, ckpt_dir: Path | None) -> None:
        cfg = self.cfg
        assert self.state is not None
        strategy = DefaultStrategy(cfg, self.scene.scene_scale)
        mcmc = None
        if cfg.strategy == "mcmc" and cfg.densify:
            cap = memory_cap(cfg.max_gaussians, self.device)
            print(f"densification: MCMC, cap {cap} Gaussians (max_gaussians {cfg.max_gaussians}, instance memory)", flush=True)
            mcmc = MCMCStrategy(cfg.refine_start, cfg.refine_stop, cfg.refine_every, cap, self.device)
        gamma = 0.01 ** (1.0 / cfg.steps)
        seg_start = time.perf_counter()
        elapsed0 = self.elapsed
        first_step = self.step
        progress(100.0 * self.step / cfg.steps, "training")
        while self.step < cfg.steps:
            step = self.step
            for g in self.optims["means"].param_groups:
                g["lr"] = self.base_lr_means * gamma**step
            factor = cfg.downscale_at(step)
            if step == first_step or factor != cfg.downscale_at(step - 1):
                full = self.scene.train[0]
                small = full.downscaled(factor)
                of = f" (1/{factor} of {full.width}x{full.height})" if factor > 1 else ""
                print(f"training at {small.width}x{small.height}{of}", flush=True)
            view = self.view_order(step).downscaled(factor)
            sh_degree = min(step // cfg.sh_degree_interval, cfg.sh_degree)
            gt = view.image(self.device)
            out = self.render(view, sh_degree)
            img = out.image
            if self.exposure is not None and self.exposure_mask is not None:
                A = self.exposure[view.index] * self.exposure_mask
                img = img @ A[:, :3].T + A[:, 3]
            loss = loss_fn(img, gt, cfg.ssim_lambda, self.training_ssim())
            if mcmc is not None:
                loss = loss + regularisers(self.params)
            loss.backward()
            for o in self.optims.values():
                o.step()
                o.zero_grad(set_to_none=True)
            if self.exposure_opt is not None:
                self.exposure_opt.step()
                self.exposure_opt.zero_grad(set_to_none=True)
            self.step = step + 1
            if mcmc is not None:
                mcmc.step_post_backward(self.params, self.optims, self.state, step, self.optims["means"].param_groups[0]["lr"])
            else:
                strategy.step_post_backward(
                    self.params, self.optims, self.state, step, screen_grad(out, cfg.absgrad), out.radii, view.width, view.height
                )
            self.elapsed = elapsed0 + time.perf_counter() - seg_start
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                n = self.params["means"].shape[0]
                progress(100.0 * self.step / cfg.steps, "training")
                print(
                    f"step={self.step}/{cfg.steps} loss={float(loss.detach()):.4f} psnr={psnr(img.detach(), gt):.2f} "
                    f"gaussians={n} s_per_step={(time.perf_counter() - seg_start) / (self.step - first_step):.3f}",
                    flush=True,
                )
            if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps:
                ev = self.evaluate()
                line = f"eval step={self.step} held_out_psnr={ev['psnr']:.2f} held_out_ssim={ev['ssim']:.4f}"
                if factor > 1:
                    low = self.evaluate(factor=factor)
                    line += f" at_1/{factor}: psnr={low['psnr']:.2f} ssim={low['ssim']:.4f}"
                print(line, flush=True)
            after_step(self, ckpt_dir)  # the periodic checkpoint, and the early model at its step

    # --- evaluation and outputs ---------------------------------------------------------
    @torch.no_grad()
    def bake_mean_exposure(self) -> None:
        """Folds the mean of the training images' colour transforms into the Gaussians' SH.

        The per-image affine transforms and the scene's colours are only defined up to a common
        transform; baking their mean in gives the splat the average appearance of the training
        photos (what a viewer shows and what held-out photos are scored against)."""
        if self.exposure is None:
            return
        idx = torch.tensor([v.index for v in self.scene.train], device=self.device)
        mean = self.exposure[idx].mean(0)  # [3, 4]
        A, b = mean[:, :3], mean[:, 3]
        c0 = 0.28209479177387814
        sh0 = self.params["sh0"].data  # [N, 1, 3]
        rgb = c0 * sh0 + 0.5
        self.params["sh0"].data = ((rgb @ A.T + b) - 0.5) / c0
        self.params["shN"].data = self.params["shN"].data @ A.T
        # keep the per-image transforms relative to the new colours (training could go on)
        M = torch.eye(4, device=self.device)
        M[:3, :3], M[:3, 3] = A, b
        inv = torch.linalg.inv(M)
        full = torch.cat([self.exposure.data, torch.tensor([[[0, 0, 0, 1.0]]], device=self.device).expand(len(self.exposure), 1, 4)], 1)
        self.exposure.data = (full @ inv)[:, :3]
        print(f"exposure: baked the mean colour transform (gain {torch.diagonal(A).tolist()}, offset {b.tolist()})", flush=True)

    def evaluate(self, render_dir: Path | None = None, num_renders: int = 0, factor: int = 1) -> dict[str, Any]:
        """Held-out PSNR/SSIM/coverage (held_out.py: with exposure compensation on, each held-out
        photo's exposure is fitted), at the training resolution or at 1/``factor`` of it."""
        return held_out.evaluate(self, render_dir, num_renders, factor)


def pick_device(cfg: Config) -> torch.device:
    if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise StageError("hyperparameter device=cuda but no CUDA GPU is visible")
        return torch.device("cuda")
    return torch.device("cpu")


def _device_and_backend(cfg: Config) -> tuple[torch.device, Backend]:
    """Threads and seed set, the device and rasterizer chosen (the choice printed), or a StageError."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg)
    try:
        backend, why = resolve_backend(cfg.backend, device)
    except ValueError as e:
        raise StageError(str(e)) from None
    print(why, flush=True)
    if device.type != "cpu" and backend == "torch":
        raise StageError("the torch backend runs on CPU only here; use backend=gsplat or device=cpu")
    return device, backend


def run(paths: Paths, cfg: Config) -> dict[str, Any]:
    """The whole stage: load, train (resuming if a checkpoint exists), evaluate, write outputs."""
    t0 = time.perf_counter()
    device, backend = _device_and_backend(cfg)
    progress(0.0, "loading")
    scene = load_scene(paths.sfm, cfg)
    v0 = scene.views[0]
    print(
        f"scene: {len(scene.views)} images ({len(scene.test)} held out) at {v0.width}x{v0.height}, "
        f"{len(scene.points)} SfM points, scale {scene.scene_scale:.3f}; backend={backend} device={device}",
        flush=True,
    )
    trainer = Trainer(cfg, scene, device, backend)
    trainer.init()
    print(f"initialised {trainer.params['means'].shape[0]} Gaussians", flush=True)
    trainer.try_resume(paths.checkpoints)
    steps_before = trainer.step
    t_train, cpu_train = time.perf_counter(), time.process_time()
    try:
        trainer.train(paths.checkpoints)
    except torch.OutOfMemoryError:
        n = trainer.params["means"].shape[0]
        raise StageError(
            f"{'CUDA' if device.type == 'cuda' else 'CPU'} out of memory at {n / 1e6:.2f}M Gaussians: "
            f"lower max_gaussians (now {cfg.max_gaussians}) or resolution_scale"
        ) from None
    train_s, train_cpu_s = time.perf_counter() - t_train, time.process_time() - cpu_train
    progress(100.0, "training")
    paths.model.mkdir(parents=True, exist_ok=True)
    progress(100.0, "evaluating")
    trainer.bake_mean_exposure()
    ev = trainer.evaluate(paths.model / "renders", cfg.num_renders)
    last_factor = cfg.downscale_at(trainer.step - 1)
    # with coarse-to-fine training still coarse at the end, also score at the resolution it trained at
    low = None
    if last_factor > 1:
        ev_low, coarse = trainer.evaluate(factor=last_factor), v0.downscaled(last_factor)
        low = {"resolution": [coarse.width, coarse.height], "psnr": ev_low["psnr"], "ssim": ev_low["ssim"]}
    write_ply(paths.model / "point_cloud.ply", trainer.params)  # type: ignore[arg-type]
    (paths.model / "cameras.json").write_text(json.dumps(cameras_json(scene), indent=1))
    steps_run = trainer.step - steps_before
    warnings = warnings_for(ev, cfg.quality, cfg.psnr_floor, cfg.coverage_floor, cfg.blur_floor)
    for w in warnings:
        print(f"warning: {w['message']}", flush=True)
    metrics = {
        **held_out.report(ev),  # psnr, ssim, coverage, equivalent_blur, exposure_fitted, ..., held_out
        # the stages' shared "succeeded, but" channel (code + message), carried to the delivery
        "warnings": warnings,
        "gaussians": int(trainer.params["means"].shape[0]),
        "steps": trainer.step,
        "resumed_from_step": trainer.resumed_from,
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "train_time_s": round(trainer.elapsed, 3),
        "s_per_step": round(train_s / steps_run, 4) if steps_run else None,
        # CPU seconds (all threads) per step: comparable between runs on a busy shared machine
        "cpu_s_per_step": round(train_cpu_s / steps_run, 4) if steps_run else None,
        "peak_memory_mb": round(peak_memory_mb(device), 1),
        "backend": backend,
        "device": str(device),
        "resolution": [v0.width, v0.height],
        "at_training_resolution": None if low is None else {"downscale": last_factor, **low},
        "images": {"train": len(scene.train), "held_out": len(scene.test)},
        "exposure_compensation": trainer.exposure_model,
        "config": cfg.to_json(),
    }
    (paths.model / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(
        f"held-out psnr={metrics['psnr']} ssim={metrics['ssim']} coverage={metrics['coverage']} gaussians={metrics['gaussians']} "
        f"steps={metrics['steps']} s_per_step={metrics['s_per_step']}",
        flush=True,
    )
    return metrics
