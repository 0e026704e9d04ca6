"""pytest set-up for the gaussian-splatting tests (helpers live in gs_scenes / gs_synthetic)."""

import torch

# One intra-op thread: the CI machine is small and shared, and BLAS thread pools on an
# oversubscribed machine turn tiny matmuls into milliseconds of spinning.
torch.set_num_threads(1)
