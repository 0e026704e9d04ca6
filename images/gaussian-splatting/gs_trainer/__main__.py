"""Entry: ``python -m gs_trainer [train]`` runs the SageMaker training contract."""

from __future__ import annotations

import sys
import traceback

from . import accelerator
from .colmap import ColmapError
from .config import ConfigError, load_hyperparameters
from .contract import Paths, StageError, write_failure
from .data import DataError
from .train import run
from .upstream import carry_upstream


def main(argv: list[str]) -> int:
    args = list(argv)
    if args and args[0] == "train":  # SageMaker starts training containers as `<image> train`
        args = args[1:]
    if args:
        print(f"usage: python -m gs_trainer [train]  (unexpected arguments: {' '.join(args)})", file=sys.stderr)
        return 2
    paths = Paths.from_env()
    try:
        cfg = load_hyperparameters(paths.hyperparameters)
        print(f"hyperparameters: {cfg.to_json()}", flush=True)
        if cfg.device == "auto" and accelerator.required():
            # the instance type has a GPU: never fall back to days of CPU training by accident
            reason = accelerator.missing_cuda(paths.hyperparameters.parent)
            if reason:
                raise StageError(reason)
        # before training: the early model (early.py) carries the same reports as the final one
        carry_upstream(paths.sfm, paths.model, stage="sfm")
        run(paths, cfg)
        return 0
    except (ConfigError, DataError, ColmapError, StageError) as e:
        write_failure(paths, str(e))
        return 1
    except MemoryError:
        write_failure(paths, "out of memory: lower max_gaussians or resolution_scale")
        return 1
    except Exception as e:  # unexpected: keep the traceback in the log, a sentence for the user
        traceback.print_exc()
        write_failure(paths, f"Gaussian splatting training failed unexpectedly: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
