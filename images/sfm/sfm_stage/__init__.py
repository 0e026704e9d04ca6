"""SfM stage: photos (ZIP archives or loose files) to a georeferenced, undistorted COLMAP model."""

__all__ = ["StageError"]

from .errors import StageError
