"""Safe ZIP extraction: refuses path traversal, links, too many files and ZIP bombs."""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import StageError

_CHUNK = 1 << 20
# Entries smaller than this may compress as well as they like (a text file of zeros is no bomb).
RATIO_FREE_BYTES = 1 << 20


@dataclass
class Budget:
    """Limits shared by every archive of one job."""

    max_files: int
    max_bytes: int
    # Uncompressed : compressed. Photos barely compress (JPEG ~1.01, PNG ~1, TIFF a few times).
    max_ratio: float = 100.0
    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


def _safe_member_path(archive: str, name: str) -> PurePosixPath:
    """The entry's relative path, or StageError when it could land outside the extraction folder."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":") or "\x00" in unified:
        raise StageError(
            f"The archive {archive} contains an entry with an absolute path ({name!r}); "
            "it was refused for safety. Re-create the ZIP from the photo folder itself."
        )
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise StageError(
            f"The archive {archive} contains an entry that points outside its folder ({name!r}); "
            "it was refused for safety. Re-create the ZIP from the photo folder itself."
        )
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _is_link_or_special(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    if mode == 0:
        return False
    kind = stat.S_IFMT(mode)
    return kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def _ignored(path: PurePosixPath) -> bool:
    return path.parts[0] == "__MACOSX" or path.name.startswith("._") or path.name in (".DS_Store", "Thumbs.db")


def _check_entry(display: str, info: zipfile.ZipInfo, size: int, total: int, budget: Budget) -> None:
    """StageError naming the entry when `size` bytes of it (or `total` for the job) pass a limit."""
    if size > RATIO_FREE_BYTES and size > budget.max_ratio * max(info.compress_size, 1):
        raise StageError(
            f"{display}: entry {info.filename!r} unpacks to more than {budget.max_ratio:g} times its compressed size "
            f"({info.compress_size} bytes; limit SFM_MAX_COMPRESSION_RATIO); it looks like a ZIP bomb and was refused. "
            "Photos barely compress: zip the original photo files."
        )
    if total > budget.max_bytes:
        raise StageError(
            f"{display}: entry {info.filename!r} would bring the unpacked upload to {total / 1e9:.2f} GB, above the limit of "
            f"{budget.max_bytes / 1e9:.2f} GB (SFM_MAX_UNCOMPRESSED_BYTES); it was refused."
        )


def extract_zip(zip_path: Path, dest: Path, budget: Budget, display: str) -> None:
    """Extract `zip_path` under `dest` after checking every entry; never writes outside `dest`."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise StageError(f"{display} is not a readable ZIP archive ({exc}); upload the photos as a standard .zip file.") from None
    with zf:
        infos = zf.infolist()
        planned: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for info in infos:
            rel = _safe_member_path(display, info.filename)
            if _is_link_or_special(info):
                raise StageError(
                    f"The archive {display} contains a symbolic link or special file ({info.filename!r}); "
                    "it was refused for safety. Zip the photos themselves, not links to them."
                )
            if info.is_dir() or rel == PurePosixPath("."):
                continue
            if _ignored(rel):
                budget.skipped.append((f"{display}:{info.filename}", "unsupported"))
                continue
            planned.append((info, rel))
        budget.files += len(planned)
        if budget.files > budget.max_files:
            raise StageError(
                f"The upload holds more than {budget.max_files} files (limit SFM_MAX_FILES); "
                "split the survey into smaller jobs."
            )
        declared = budget.bytes
        for info, _ in planned:
            declared += info.file_size
            _check_entry(display, info, info.file_size, declared, budget)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        for info, rel in planned:
            target = (dest / Path(*rel.parts)).resolve()
            if root not in target.parents:
                raise StageError(f"The archive {display} contains an entry that points outside its folder ({info.filename!r}).")
            if info.flag_bits & 0x1:
                budget.skipped.append((f"{display}:{info.filename}", "unsupported: encrypted"))
                continue
            written = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                budget.skipped.append((f"{display}:{info.filename}", "unsupported: its folder clashes with a file of the same name"))
                continue
            try:
                with zf.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        # Headers can lie: count real bytes against the entry, the ratio and the job limit.
                        if written > info.file_size:
                            raise StageError(
                                f"{display} unpacks to more data than it declares (entry {info.filename!r}); "
                                "it looks like a ZIP bomb and was refused."
                            )
                        _check_entry(display, info, written, budget.bytes + written, budget)
                        out.write(chunk)
            except StageError:
                target.unlink(missing_ok=True)
                raise
            except FileExistsError:
                budget.skipped.append((f"{display}:{info.filename}", "duplicate: repeated entry"))
                continue
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                budget.skipped.append((f"{display}:{info.filename}", f"corrupt: damaged in archive ({exc})"))
                target.unlink(missing_ok=True)
                continue
            budget.bytes += written
