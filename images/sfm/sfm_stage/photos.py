"""Find the photos of a job, check them, and write upright working copies with their EXIF facts."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .archive import Budget, extract_zip
from .config import Config
from .errors import StageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "TIFF"}
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}


@dataclass(frozen=True)
class Photo:
    name: str  # file name in the working image folder (unique)
    source: str  # where it came from, for the report
    width: int
    height: int
    gps: tuple[float, float, float] | None  # latitude, longitude (degrees), altitude (m)
    focal_px: float | None  # focal length prior in pixels, from EXIF
    camera_key: str  # photos with the same key share one camera model
    gps_accuracy_m: float | None = None  # horizontal accuracy the EXIF states (GPSHPositioningError)


@dataclass
class Ingested:
    received: int = 0
    photos: list[Photo] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _ratio(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _dms(value: object, ref: object) -> float | None:
    try:
        d, m, s = (float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60.0 + s / 3600.0
    return -deg if str(ref).strip().upper() in ("S", "W") else deg


def read_gps(exif: Image.Exif) -> tuple[float, float, float] | None:
    gps = exif.get_ifd(_GPS_IFD)
    if not gps:
        return None
    lat = _dms(gps.get(2), gps.get(1))
    lon = _dms(gps.get(4), gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    alt = _ratio(gps.get(6)) or 0.0
    ref = gps.get(5)
    if ref in (1, b"\x01"):
        alt = -alt
    return (lat, lon, alt)


def read_gps_accuracy(exif: Image.Exif) -> float | None:
    """GPSHPositioningError (m), the receiver's own horizontal accuracy estimate, when written."""
    gps = exif.get_ifd(_GPS_IFD)
    value = _ratio(gps.get(0x1F)) if gps else None
    return value if value is not None and value > 0 else None


def focal_prior_px(exif: Image.Exif, width: int, height: int) -> float | None:
    """Focal length in pixels at (width, height) from EXIF, or None when EXIF cannot tell."""
    sub = exif.get_ifd(_EXIF_IFD)
    long_side = max(width, height)
    f_mm = _ratio(sub.get(0x920A))
    x_res = _ratio(sub.get(0xA20E))
    unit = _UNIT_MM.get(int(sub.get(0xA210, 2) or 2))
    orig_w, orig_h = _ratio(sub.get(0xA002)), _ratio(sub.get(0xA003))
    if f_mm and x_res and unit and orig_w and orig_h:
        pitch_mm = unit / x_res  # size of one pixel of the original sensor image
        return f_mm / pitch_mm * long_side / max(orig_w, orig_h)
    f35 = _ratio(sub.get(0xA405))
    if f35:
        return float(f35 / 43.27 * (width**2 + height**2) ** 0.5)  # 35 mm film diagonal is 43.27 mm
    return None


def _display(path: Path, root: Path, label: str) -> str:
    return f"{label}:{path.relative_to(root).as_posix()}" if label else path.relative_to(root).as_posix()


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            found.append(Path(dirpath) / name)
    return found


def _unique_name(stem: str, suffix: str, taken: set[str]) -> str:
    stem = re.sub(r"\s+", "_", stem.strip()) or "photo"  # COLMAP's pair lists split on spaces
    candidate = f"{stem}{suffix}"
    n = 1
    while candidate.lower() in taken:
        candidate = f"{stem}_{n}{suffix}"
        n += 1
    taken.add(candidate.lower())
    return candidate


def ingest(config: Config, images_dir: Path, extract_dir: Path, result: Ingested | None = None) -> Ingested:
    """Unpack archives, check every image and write usable ones (upright, ≤ max size) to images_dir.

    `result` is filled as it goes, so a caller still has the skipped files when this raises."""
    if not config.input_dir.is_dir():
        raise StageError(f"No input was found: the folder {config.input_dir} does not exist. Upload a ZIP of photos.")
    result = Ingested() if result is None else result
    budget = Budget(max_files=config.max_files, max_bytes=config.max_uncompressed_bytes, max_ratio=config.max_compression_ratio)
    candidates: list[tuple[Path, str]] = []
    for n, path in enumerate(_walk(config.input_dir)):
        shown = path.relative_to(config.input_dir).as_posix()
        if path.is_symlink():
            result.skipped.append((shown, "unsupported: symbolic link"))
            continue
        if path.suffix.lower() == ".zip" or (path.suffix.lower() not in IMAGE_SUFFIXES and zipfile.is_zipfile(path)):
            dest = extract_dir / f"{n:04d}"
            try:
                extract_zip(path, dest, budget, shown)
            finally:
                result.skipped.extend(budget.skipped)
                budget.skipped.clear()
            candidates.extend((p, _display(p, dest, shown)) for p in _walk(dest))
        else:
            budget.files += 1
            if budget.files > config.max_files:
                raise StageError(f"The upload holds more than {config.max_files} files (limit SFM_MAX_FILES); split the survey into smaller jobs.")
            candidates.append((path, shown))

    Image.MAX_IMAGE_PIXELS = config.max_image_pixels
    images_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    taken: set[str] = set()
    for path, shown in candidates:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            kind = "nested archive" if path.suffix.lower() == ".zip" else f"not a photo ({path.suffix or 'no extension'})"
            result.skipped.append((shown, f"unsupported: {kind}"))
            continue
        result.received += 1
        photo = _check_and_copy(path, shown, images_dir, seen, taken, config, result)
        if photo is not None:
            result.photos.append(photo)

    usable = len(result.photos)
    if usable < config.min_photos:
        raise StageError(
            f"Only {usable} usable photo(s) were found; at least {config.min_photos} are needed "
            f"(SFM_MIN_PHOTOS).{_too_few_detail(result)}"
        )
    return result


_NAMED_SKIPS = 5


def _too_few_detail(result: Ingested) -> str:
    """Which files were skipped and why (the first few by name), for the too-few-photos reason."""
    nested = [name for name, reason in result.skipped if reason == "unsupported: nested archive"]
    detail = ""
    if nested:
        detail += f" Archives inside the ZIP are not opened ({', '.join(nested[:_NAMED_SKIPS])}): put the photos themselves in the uploaded ZIP."
    if result.received == 0:
        return detail + " The upload contains no JPEG, PNG or TIFF photos."
    skipped = [(name, reason) for name, reason in result.skipped if reason != "unsupported: nested archive"]
    if skipped:
        named = "; ".join(f"{name} ({reason})" for name, reason in skipped[:_NAMED_SKIPS])
        more = f"; and {len(skipped) - _NAMED_SKIPS} more (see report.json)" if len(skipped) > _NAMED_SKIPS else ""
        detail += f" {result.received} photo file(s) were found; skipped: {named}{more}."
    return detail


def _check_and_copy(
    path: Path,
    shown: str,
    images_dir: Path,
    seen: dict[str, str],
    taken: set[str],
    config: Config,
    result: Ingested,
) -> Photo | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                fmt = opened.format or ""
                if fmt not in ACCEPTED_FORMATS:
                    result.skipped.append((shown, f"unsupported: image format {fmt or 'unknown'}"))
                    return None
                if opened.width * opened.height > config.max_image_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                exif = opened.getexif()
                orientation = int(exif.get(0x0112, 1) or 1)
                opened.load()  # decodes everything: truncated or corrupt data fails here
                image = ImageOps.exif_transpose(opened) if orientation != 1 else opened.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        result.skipped.append((shown, f"unsupported: more than {config.max_image_pixels} pixels (SFM_MAX_IMAGE_PIXELS)"))
        return None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        result.skipped.append((shown, f"corrupt: {exc}"))
        return None
    with image:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        digest = hashlib.sha256(image.tobytes()).hexdigest()
        if digest in seen:
            result.skipped.append((shown, f"duplicate: same picture as {seen[digest]}"))
            return None
        seen[digest] = shown
        width, height = image.size
        scale = min(1.0, config.max_image_size / max(width, height))
        copy_as_is = fmt == "JPEG" and orientation == 1 and scale == 1.0 and image.mode in ("RGB", "L")
        if scale < 1.0:
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        gps = read_gps(exif)
        focal = focal_prior_px(exif, width, height)
        make_model = f"{exif.get(0x010F, '')}|{exif.get(0x0110, '')}".strip()
        suffix = path.suffix if path.suffix.lower() in (".jpg", ".jpeg") else ".jpg"
        name = _unique_name(path.stem, suffix, taken)  # keeps the photo's own name where it can
        target = images_dir / name
        if copy_as_is:
            shutil.copyfile(path, target)
        else:
            if scale < 1.0:
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            exif[0x0112] = 1
            image.convert("RGB").save(target, "JPEG", quality=95, exif=exif.tobytes())
    key = f"{make_model}|{width}x{height}|{round(focal) if focal else 'unknown'}"
    return Photo(name=name, source=shown, width=width, height=height, gps=gps, focal_px=focal, camera_key=key,
                 gps_accuracy_m=read_gps_accuracy(exif) if gps else None)
