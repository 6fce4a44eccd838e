"""Pictures for the demo's incidents, drawn in code: a street scene (sky, buildings, the
road) with what the photo shows (water, a pothole, rubbish, a crack...), a little noise as
a phone's sensor gives, written as a PNG with :mod:`zlib`. The same kind and seed give the
same bytes."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

WIDTH, HEIGHT = 320, 240
HORIZON = 110
Image = NDArray[np.float64]
Mask = NDArray[np.bool_]

SKY = (168, 196, 222)
ROAD = (92, 94, 98)
PAVEMENT = (176, 170, 160)


_Y, _X = (axis.astype(np.float64) for axis in np.mgrid[0:HEIGHT, 0:WIDTH])


def _grid() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return _X, _Y


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Mask:
    x, y = _grid()
    return np.asarray(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0)


def _box(x0: float, y0: float, x1: float, y1: float) -> Mask:
    x, y = _grid()
    return np.asarray((x >= x0) & (x < x1) & (y >= y0) & (y < y1))


def _paint(image: Image, mask: Mask, rgb: tuple[int, int, int], alpha: float = 1.0) -> None:
    image[mask] = (1 - alpha) * image[mask] + alpha * np.array(rgb, dtype=np.float64)


def _scene(rng: np.random.Generator) -> Image:
    """Sky, a row of buildings, pavement and road in perspective."""
    x, y = _grid()
    image = np.zeros((HEIGHT, WIDTH, 3))
    shade = (1 - y / HORIZON * 0.25)[..., None]
    image[:] = np.array(SKY) * shade
    left = 0.0
    while left < WIDTH:
        width = rng.uniform(30, 70)
        top = rng.uniform(20, 80)
        tone = rng.uniform(150, 215)
        _paint(
            image,
            _box(left, top, left + width, HORIZON),
            (int(tone), int(tone - 8), int(tone - 20)),
        )
        for row in np.arange(top + 6, HORIZON - 8, 12):  # windows
            for col in np.arange(left + 5, left + width - 8, 11):
                image[int(row) : int(row) + 7, int(col) : int(col) + 6] = (70, 90, 110)
        left += width + rng.uniform(2, 8)
    _paint(image, y >= HORIZON, PAVEMENT)
    road = (y >= HORIZON + 20) & (np.abs(x - WIDTH / 2) <= 60 + (y - HORIZON) * 1.6)
    _paint(image, road, ROAD)
    stripes = road & (np.abs(x - WIDTH / 2) < 2 + (y - HORIZON) * 0.03) & ((y // 12) % 2 == 0)
    _paint(image, stripes, (230, 230, 225))
    return image


def _water(image: Image, rng: np.random.Generator, depth: float) -> None:
    x, y = _grid()
    level = HEIGHT - depth * (HEIGHT - HORIZON)
    ripples = 3 * np.sin(x / 9 + rng.uniform(0, 6))
    _paint(image, y >= level + ripples, (96, 110, 92), 0.8)


def _pothole(image: Image, rng: np.random.Generator) -> None:
    cx = WIDTH / 2 + rng.uniform(-40, 40)
    _paint(image, _ellipse(cx, 185, 46, 16), (52, 50, 48))
    _paint(image, _ellipse(cx + 4, 188, 30, 9), (38, 36, 34))


def _patch(image: Image, rng: np.random.Generator) -> None:
    cx = WIDTH / 2 + rng.uniform(-40, 40)
    _paint(image, _box(cx - 55, 168, cx + 55, 205), (58, 58, 62))


def _rubbish(image: Image, rng: np.random.Generator) -> None:
    for _ in range(9):
        cx, cy = rng.uniform(20, 110), rng.uniform(150, 215)
        colour = rng.choice([(40, 40, 45), (200, 60, 50), (60, 120, 200), (235, 235, 230)])
        _paint(image, _ellipse(cx, cy, rng.uniform(9, 18), rng.uniform(7, 13)), tuple(colour))


def _manhole(image: Image, rng: np.random.Generator) -> None:
    cx = WIDTH / 2 + rng.uniform(-20, 20)
    _paint(image, _ellipse(cx, 190, 40, 20), (70, 68, 64))
    _paint(image, _ellipse(cx, 190, 34, 16), (110, 104, 96))
    x, y = _grid()
    _paint(image, _ellipse(cx, 190, 34, 16) & ((x + y) % 9 < 2), (80, 76, 70))


def _lamp(image: Image, rng: np.random.Generator, lit: bool) -> None:
    for pole in (60.0, 260.0):
        _paint(image, _box(pole, 40, pole + 4, 200), (60, 64, 70))
        _paint(image, _box(pole - 18, 36, pole + 4, 42), (60, 64, 70))
        _paint(image, _ellipse(pole - 16, 45, 9, 5), (255, 236, 160) if lit else (120, 120, 118))


def _crack(image: Image, rng: np.random.Generator) -> None:
    _paint(image, _box(90, 120, 230, 220), (188, 184, 176))  # the stairs' concrete
    x = 110.0
    for y in range(125, 215):
        x += rng.uniform(-2.5, 2.8)
        _paint(image, _box(x, y, x + 3, y + 1), (40, 38, 36))


def _lift(image: Image, rng: np.random.Generator) -> None:
    _paint(image, _box(70, 30, 250, 230), (196, 198, 200))
    _paint(image, _box(100, 50, 159, 230), (160, 164, 170))
    _paint(image, _box(161, 50, 220, 230), (160, 164, 170))
    _paint(image, _box(130, 20, 190, 44), (20, 20, 20))
    _paint(image, _box(150, 26, 170, 38), (230, 60, 40))  # the fault light


def _rooftop(image: Image, rng: np.random.Generator) -> None:
    _paint(image, _box(80, 40, 240, 80), (70, 120, 170))  # blue sheet steel
    x, _ = _grid()
    _paint(image, _box(80, 40, 240, 80) & (x % 8 < 1), (50, 90, 130))


def _dust(image: Image, rng: np.random.Generator) -> None:
    _paint(image, _box(0, 120, WIDTH, HEIGHT), (150, 120, 86))  # bare earth
    _paint(image, _box(200, 60, 290, 150), (230, 180, 40))  # an excavator
    image[:] = 0.45 * image + 0.55 * np.array((200, 186, 160))


def _nothing(image: Image, rng: np.random.Generator) -> None:
    return None


DRAWINGS: dict[str, Callable[[Image, np.random.Generator], None]] = {
    "flooded_street": lambda image, rng: _water(image, rng, 0.55),
    "cleared_underpass": lambda image, rng: _water(image, rng, 0.04),
    "pothole": _pothole,
    "patched_road": _patch,
    "garbage": _rubbish,
    "clean_pavement": _nothing,
    "manhole": _manhole,
    "street_light": lambda image, rng: _lamp(image, rng, lit=False),
    "crack": _crack,
    "lift": _lift,
    "rooftop": _rooftop,
    "dust": _dust,
}


def photo_png(kind: str, seed: int) -> bytes:
    """A PNG picture of ``kind`` (a key of :data:`DRAWINGS`), varied by ``seed``."""
    rng = np.random.default_rng(seed)
    image = _scene(rng)
    DRAWINGS[kind](image, rng)
    image += rng.normal(0, 1.5, image.shape)  # sensor noise
    return encode_png(np.clip(image, 0, 255).astype(np.uint8))


def encode_png(pixels: NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB PNG of ``pixels`` (height, width, 3)."""
    height, width, _ = pixels.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
