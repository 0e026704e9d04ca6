"""Inputs for the end-to-end tests and the benchmark: real and deliberately bad photo ZIPs.

    python -m samples.inputs caliterra --out X.zip [--first IMG_9354] [--count 16] [--max-size 800]
    python -m samples.inputs unrelated --out X.zip       # 3 photos that share nothing
    python -m samples.inputs no-images --out X.zip       # a ZIP of documents only
    python -m samples.inputs not-a-zip --out X.zip       # bytes that are not a ZIP

Caliterra photos are read from $SPACEPORT_CALITERRA (default ../shared/datasets/caliterra
beside the repository) and never copied into the repository; EXIF (GPS) is kept.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def caliterra_dir() -> Path:
    folder = Path(os.environ.get("SPACEPORT_CALITERRA", REPO.parent / "shared" / "datasets" / "caliterra"))
    if not folder.is_dir():
        sys.exit(f"error: caliterra photos not found at {folder} (set SPACEPORT_CALITERRA)")
    return folder


def downscaled_jpeg(path: Path, max_size: int) -> bytes:
    with Image.open(path) as image:
        exif = image.info.get("exif", b"")
        if max_size and max(image.size) > max_size:
            scale = max_size / max(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=92, exif=exif)
        return buffer.getvalue()


def caliterra(out: Path, first: str, count: int, max_size: int) -> None:
    photos = sorted(caliterra_dir().glob("IMG_*.jpg"))
    names = [p.name for p in photos]
    start = names.index(f"{first}.jpg") if f"{first}.jpg" in names else 0
    chosen = photos[start : start + count] if count > 0 else photos
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for photo in chosen:
            archive.writestr(photo.name, downscaled_jpeg(photo, max_size))
    print(f"{out}: {len(chosen)} caliterra photos at max {max_size or 'full'} px")


def unrelated(out: Path) -> None:
    """Three photos of nothing in common: a real drone photo and two different random textures."""
    rng = np.random.default_rng(7)
    photos = sorted(caliterra_dir().glob("IMG_*.jpg"))
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("site.jpg", downscaled_jpeg(photos[0], 800))
        for i in range(2):
            noise = rng.integers(0, 256, size=(600 // 8, 800 // 8, 3), dtype=np.uint8)
            image = Image.fromarray(noise).resize((800, 600), Image.Resampling.BICUBIC if i else Image.Resampling.NEAREST)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=90)
            archive.writestr(f"texture-{i}.jpg", buffer.getvalue())
    print(f"{out}: 3 unrelated photos")


def no_images(out: Path) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("flight-log.txt", "takeoff 10:30, landing 10:42\n")
        archive.writestr("notes/readme.md", "# Survey notes\n")
    print(f"{out}: a ZIP without photos")


def not_a_zip(out: Path) -> None:
    out.write_bytes(b"This is a text file that was renamed to .zip by mistake.\n" * 20)
    print(f"{out}: not a ZIP")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["caliterra", "unrelated", "no-images", "not-a-zip"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--first", default="IMG_9354")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--max-size", type=int, default=800)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.kind == "caliterra":
        caliterra(args.out, args.first, args.count, args.max_size)
    elif args.kind == "unrelated":
        unrelated(args.out)
    elif args.kind == "no-images":
        no_images(args.out)
    else:
        not_a_zip(args.out)


if __name__ == "__main__":
    main()
