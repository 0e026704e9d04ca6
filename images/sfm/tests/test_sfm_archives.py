"""Bad uploads end with a plain reason in SageMaker's failure file and nothing written outside the job."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from sfm_testkit import Job, make_job, noise_jpeg, run_stage, tree, write_zip


def _fails_with(job: Job, tmp_path: Path, *needles: str, env: dict[str, str] | None = None) -> str:
    outside_before = tree(tmp_path) - {p for p in tree(tmp_path) if p == "job" or p.startswith("job/")}
    inputs_before = {p: (job.photos / p).stat().st_mtime_ns for p in tree(job.photos)}
    result = run_stage(job, env)
    assert result.returncode != 0, result.stdout + result.stderr
    failure = job.failure()
    assert failure == job.message()
    for needle in needles:
        assert needle.lower() in failure.lower(), failure
    outside_after = {p for p in tree(tmp_path) if p != "job" and not p.startswith("job/")}
    assert outside_after == outside_before, "something was written outside the job folder"
    assert {p: (job.photos / p).stat().st_mtime_ns for p in tree(job.photos)} == inputs_before, "input changed"
    return failure


def test_zip_slip_entry_is_refused(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "survey.zip", {"a.jpg": noise_jpeg(1), "../../../evil.jpg": noise_jpeg(2)})
    _fails_with(job, tmp_path, "survey.zip", "outside its folder", "../../../evil.jpg")
    assert not list(tmp_path.rglob("evil.jpg"))


def test_absolute_path_entry_is_refused(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    target = tmp_path / "abs.jpg"
    write_zip(job.photos / "survey.zip", {"a.jpg": noise_jpeg(1), str(target): noise_jpeg(2)})
    _fails_with(job, tmp_path, "absolute path")
    assert not target.exists()


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    with zipfile.ZipFile(job.photos / "survey.zip", "w") as zf:
        zf.writestr("a.jpg", noise_jpeg(1))
        link = zipfile.ZipInfo("photos/link.jpg")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "../../../../etc/passwd")
    _fails_with(job, tmp_path, "symbolic link", "photos/link.jpg")
    assert not list(tmp_path.rglob("link.jpg"))


def test_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "bomb.zip", {f"z{i}.jpg": bytes(8 * 1024 * 1024) for i in range(4)})
    assert (job.photos / "bomb.zip").stat().st_size < 200_000  # 32 MB of zeros in a few KB
    env = {"SFM_MAX_UNCOMPRESSED_BYTES": str(10 * 1024 * 1024), "SFM_MAX_COMPRESSION_RATIO": "1000000"}
    failure = _fails_with(job, tmp_path, "bomb.zip", "SFM_MAX_UNCOMPRESSED_BYTES", "entry 'z1.jpg'", env=env)
    assert "0.02 GB" in failure
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) < 1_000_000


def test_high_ratio_entry_is_refused_by_name_before_any_byte_is_written(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    # Well under the size limit, but 64 MiB of zeros in a few KB: no photo compresses like that.
    write_zip(job.photos / "bomb.zip", {"a.jpg": noise_jpeg(1), "b.jpg": noise_jpeg(2), "zeros.jpg": bytes(64 * 1024 * 1024)})
    failure = _fails_with(job, tmp_path, "bomb.zip", "entry 'zeros.jpg'", "SFM_MAX_COMPRESSION_RATIO", "zip bomb")
    assert "corrupt" not in failure
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) < 1_000_000


def test_nested_archive_is_named_as_not_opened(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    inner = tmp_path / "inner.zip"
    write_zip(inner, {f"IMG_{i}.jpg": noise_jpeg(i) for i in range(3)})
    write_zip(job.photos / "survey.zip", {"photos/inner.zip": inner.read_bytes()})
    inner.unlink()
    failure = _fails_with(job, tmp_path, "archives inside the zip are not opened", "survey.zip:photos/inner.zip")


def test_lying_zip_header_never_writes_more_than_declared(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    path = write_zip(job.photos / "liar.zip", {"big.jpg": bytes(4 * 1024 * 1024)})
    data = bytearray(path.read_bytes())
    real = (4 * 1024 * 1024).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    assert data.count(real) == 2  # local header and central directory
    path.write_bytes(bytes(data).replace(real, fake))
    _fails_with(job, tmp_path, "usable photo")
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".jpg") == 0


def test_too_many_files_is_refused(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "many.zip", {f"n{i}.txt": b"x" for i in range(12)})
    _fails_with(job, tmp_path, "more than 10 files", "SFM_MAX_FILES", env={"SFM_MAX_FILES": "10"})


def test_archive_without_images_fails(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "docs.zip", {"readme.txt": b"hello", "flight/log.csv": b"t,lat,lon\n"})
    _fails_with(job, tmp_path, "no jpeg, png or tiff photos")
    report = (job.output / "report.json").read_text()
    assert "readme.txt" in report and "unsupported" in report


def test_only_corrupt_images_fails(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    entries = {f"IMG_{i}.jpg": noise_jpeg(i)[:300] for i in range(4)}  # truncated JPEGs
    entries["bad.png"] = b"\x89PNG\r\n\x1a\n not really"
    write_zip(job.photos / "survey.zip", entries)
    failure = _fails_with(job, tmp_path, "only 0 usable photo", "corrupt")
    # Which files, and why: the first few by name, the rest counted.
    assert "survey.zip:IMG_0.jpg (corrupt:" in failure
    assert "and 0 more" not in failure and "more (see report.json)" not in failure


def test_not_a_zip_fails(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    (job.photos / "survey.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    _fails_with(job, tmp_path, "not a readable zip")


def test_missing_input_folder_fails(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.photos.rmdir()
    _fails_with(job, tmp_path, "no input was found")


@pytest.mark.parametrize(
    ("name", "value"),
    [("SFM_MATCHING", "bogus"), ("SFM_MAPPER", "fast"), ("SFM_MAX_IMAGE_SIZE", "big"), ("SFM_MIN_PLACED_SHARE", "2")],
)
def test_invalid_option_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    job = make_job(tmp_path)
    _fails_with(job, tmp_path, name, env={name: value})


def test_three_unrelated_photos_fail_with_overlap_advice(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "survey.zip", {f"IMG_{i}.jpg": noise_jpeg(100 + i, (320, 240)) for i in range(3)})
    _fails_with(job, tmp_path, "of 3 photos could be placed", "overlap")
    # COLMAP's glog files stay with the job, not in the temp folder the stage was given.
    assert not [p.name for p in (job.root / "tmp").rglob("*") if ".log." in p.name]
    assert [p.name for p in (job.opt_ml / "logs" / "colmap").iterdir() if ".log.INFO" in p.name]
    report = (job.output / "report.json").read_text()
    assert '"status": "failed"' in report
