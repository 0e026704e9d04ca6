"""Drone-like photo metadata: EXIF (camera, time, GPS IFD) and DJI-style XMP, written and read
with Pillow's Exif API."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

MAKE = "DJI"
MODEL = "FC6310"  # Phantom 4 Pro camera: 13.2 mm x 8.8 mm sensor, 8.8 mm lens, 24 mm equivalent
FOCAL_MM = 8.8
FOCAL_35MM = 24
SENSOR_WIDTH_MM = 13.2


@dataclass(frozen=True)
class PhotoMeta:
    width: int
    height: int
    lat: float
    lon: float
    alt: float  # metres, as GPSAltitude (above the datum of the geographic origin)
    relative_alt: float  # metres above the take-off point (the ENU origin)
    taken: datetime
    gimbal_yaw: float  # degrees clockwise from north
    gimbal_pitch: float  # degrees, negative below the horizon
    flight_yaw: float
    exposure_time_s: float = 1 / 800  # shutter; the surveys' aperture and ISO stay fixed


def _dms(value: float, denominator: int = 10000) -> tuple[IFDRational, IFDRational, IFDRational]:
    v = abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    return IFDRational(d, 1), IFDRational(m, 1), IFDRational(int(round(s * denominator)), denominator)


def _rational(x: float, denominator: int = 1000) -> IFDRational:
    f = Fraction(x).limit_denominator(denominator)
    return IFDRational(f.numerator, f.denominator)


def build_exif(meta: PhotoMeta, with_gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Software] = "spaceport samples.survey"
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.DateTime] = meta.taken.strftime("%Y:%m:%d %H:%M:%S")
    exif[ExifTags.Base.XResolution] = IFDRational(72, 1)
    exif[ExifTags.Base.YResolution] = IFDRational(72, 1)
    exif[ExifTags.Base.ResolutionUnit] = 2
    ex = exif.get_ifd(ExifTags.IFD.Exif)
    ex[ExifTags.Base.DateTimeOriginal] = meta.taken.strftime("%Y:%m:%d %H:%M:%S")
    ex[ExifTags.Base.DateTimeDigitized] = meta.taken.strftime("%Y:%m:%d %H:%M:%S")
    ex[ExifTags.Base.ExposureTime] = IFDRational(1, max(1, round(1 / meta.exposure_time_s)))
    ex[ExifTags.Base.FNumber] = IFDRational(28, 10)
    ex[ExifTags.Base.ISOSpeedRatings] = 100
    ex[ExifTags.Base.FocalLength] = IFDRational(int(FOCAL_MM * 10), 10)
    ex[ExifTags.Base.FocalLengthIn35mmFilm] = FOCAL_35MM
    ex[ExifTags.Base.ExifImageWidth] = meta.width
    ex[ExifTags.Base.ExifImageHeight] = meta.height
    # the focal plane resolution lets readers derive the sensor width (13.2 mm across the image)
    ex[ExifTags.Base.FocalPlaneXResolution] = _rational(meta.width / SENSOR_WIDTH_MM * 10, 100)
    ex[ExifTags.Base.FocalPlaneYResolution] = _rational(meta.width / SENSOR_WIDTH_MM * 10, 100)
    ex[ExifTags.Base.FocalPlaneResolutionUnit] = 3  # centimetres: pixels per cm
    if not with_gps:
        return exif
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if meta.lat >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = _dms(meta.lat)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if meta.lon >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = _dms(meta.lon)
    gps[ExifTags.GPS.GPSAltitudeRef] = b"\x00" if meta.alt >= 0 else b"\x01"
    gps[ExifTags.GPS.GPSAltitude] = _rational(abs(meta.alt), 1000)
    gps[ExifTags.GPS.GPSMapDatum] = "WGS-84"
    return exif


def build_xmp(meta: PhotoMeta) -> bytes:
    """DJI's drone-dji XMP block, as DJI cameras write it (altitudes and gimbal angles)."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="DJI Meta Data" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        f'drone-dji:AbsoluteAltitude="{meta.alt:+.2f}" drone-dji:RelativeAltitude="{meta.relative_alt:+.2f}" '
        f'drone-dji:GimbalRollDegree="+0.00" drone-dji:GimbalYawDegree="{meta.gimbal_yaw:+.2f}" '
        f'drone-dji:GimbalPitchDegree="{meta.gimbal_pitch:+.2f}" drone-dji:FlightRollDegree="+0.00" '
        f'drone-dji:FlightYawDegree="{meta.flight_yaw:+.2f}" drone-dji:FlightPitchDegree="+0.00"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


@dataclass(frozen=True)
class GpsFix:
    lat: float
    lon: float
    alt: float


def _to_float(r: object) -> float:
    return float(r)  # type: ignore[arg-type]


def read_gps(path: Path) -> GpsFix:
    """Latitude, longitude (degrees) and altitude (metres) from a photo's EXIF GPS IFD."""
    with Image.open(path) as im:
        gps = im.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    if not gps:
        raise ValueError(f"{path}: no EXIF GPS block")

    def deg(values: tuple[object, ...], ref: str, neg: str) -> float:
        d, m, s = (_to_float(v) for v in values)
        out = d + m / 60 + s / 3600
        return -out if ref == neg else out

    lat = deg(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef], "S")
    lon = deg(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef], "W")
    alt = _to_float(gps[ExifTags.GPS.GPSAltitude])
    if gps.get(ExifTags.GPS.GPSAltitudeRef, b"\x00") in (b"\x01", 1):
        alt = -alt
    return GpsFix(lat, lon, alt)


def heading_pitch(forward: tuple[float, float, float]) -> tuple[float, float]:
    """Compass heading (degrees clockwise from north, -180..180, as DJI writes it) and pitch (negative down) of an ENU direction."""
    e, n, u = forward
    return math.degrees(math.atan2(e, n)), math.degrees(math.atan2(u, math.hypot(e, n)))
