"""The drone's flight plan: an orbit around the site and an oblique grid, every camera aimed at
the site, pitched 30-60 degrees down, with the small position and aim errors of a real flight.
The `ground` pattern is no flight: a walk around the house at eye height, photos held about
level and aimed at the house, with a hand-held camera's position and aim errors."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .render import look_at

F64 = NDArray[np.float64]
Pattern = Literal["orbit", "grid", "both", "ground"]

SITE_CENTER = np.array([0.0, 0.0, 2.0])


@dataclass(frozen=True)
class Shot:
    center: F64
    rotation: F64  # camera-to-world
    leg: str  # "orbit" or "grid"


@dataclass(frozen=True)
class FlightConfig:
    orbit_radius: float = 24.0
    orbit_altitude: float = 22.0
    grid_altitude: float = 32.0
    grid_pitch_deg: float = 55.0
    grid_half_x: float = 10.0  # aim points cover x in [-10, 10] and y in [-6, 6]
    grid_half_y: float = 6.0
    position_jitter: float = 0.4  # metres, GNSS-hold imprecision
    aim_jitter: float = 0.8  # metres on the ground
    ground_radius: float = 15.0  # the walk around the house (centre at the origin)
    ground_height: float = 1.7  # eye height
    ground_aim_height: float = 3.0  # photos aimed at the house's middle (walls 5 m, ridge 7.5 m)
    ground_jitter: float = 0.3  # metres of hand-held position and aim error


def split(count: int, pattern: Pattern) -> tuple[int, int]:
    """How many shots go to the orbit and to the grid."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if pattern in ("orbit", "ground"):
        return count, 0
    if pattern == "grid":
        return 0, count
    n_orbit = max(1, min(count, math.ceil(count * 2 / 3)))
    return n_orbit, count - n_orbit


def plan(count: int, pattern: Pattern, seed: int, cfg: FlightConfig = FlightConfig()) -> list[Shot]:
    rng = np.random.default_rng([seed, 7919])
    n_orbit, n_grid = split(count, pattern)
    shots: list[Shot] = []

    def add(center: F64, target: F64, leg: str) -> None:
        c = center + rng.uniform(-1, 1, 3) * cfg.position_jitter
        t = target + np.append(rng.uniform(-1, 1, 2) * cfg.aim_jitter, 0.0)
        shots.append(Shot(c, look_at(c, t), leg))

    start = rng.uniform(0, 2 * math.pi)
    if pattern == "ground":
        return [_ground_shot(start + 2 * math.pi * i / count, rng, cfg) for i in range(count)]
    for i in range(n_orbit):
        a = start + 2 * math.pi * i / n_orbit
        c = np.array([cfg.orbit_radius * math.cos(a), cfg.orbit_radius * math.sin(a), cfg.orbit_altitude])
        add(c, SITE_CENTER, "orbit")
    if n_grid:
        rows = max(1, round(math.sqrt(n_grid / 1.5)))
        cols = math.ceil(n_grid / rows)
        back = cfg.grid_altitude / math.tan(math.radians(cfg.grid_pitch_deg))
        k = 0
        for r in range(rows):
            y = -cfg.grid_half_y + 2 * cfg.grid_half_y * (r / (rows - 1) if rows > 1 else 0.5)
            order = range(cols) if r % 2 == 0 else range(cols - 1, -1, -1)  # lawnmower
            for cidx in order:
                if k == n_grid:
                    break
                x = -cfg.grid_half_x + 2 * cfg.grid_half_x * (cidx / (cols - 1) if cols > 1 else 0.5)
                aim = np.array([x, y, 0.0])
                add(np.array([x, y - back, cfg.grid_altitude]), aim, "grid")
                k += 1
    return shots


def _ground_shot(angle: float, rng: np.random.Generator, cfg: FlightConfig) -> Shot:
    c = np.array([cfg.ground_radius * math.cos(angle), cfg.ground_radius * math.sin(angle), cfg.ground_height])
    c = c + rng.uniform(-1, 1, 3) * cfg.ground_jitter
    t = np.array([0.0, 0.0, cfg.ground_aim_height]) + rng.uniform(-1, 1, 3) * cfg.ground_jitter
    return Shot(c, look_at(c, t), "ground")
