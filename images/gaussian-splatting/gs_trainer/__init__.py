"""3D Gaussian splatting training for the Spaceport pipeline (stage 2).

Reads a COLMAP model (the SfM stage's output), trains 3D Gaussians with either gsplat
(CUDA) or the pure-PyTorch tile rasterizer in :mod:`gs_trainer.backends.torch_tiles`
(CPU), and writes a standard 3DGS ``point_cloud.ply`` plus metrics and renders.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
