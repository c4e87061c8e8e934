"""Regenerate optimizer/assets/world110m.json, the country outlines the report's map draws
(run once by a maintainer; needs pyshp, which is not a fleetopt dependency).

Source: Natural Earth 1:110m Cultural Vectors, Admin 0 – Countries (public domain), as bundled
in the geopandas 0.14.4 wheel (geopandas/datasets/naturalearth_lowres, columns name, iso_a3):

    pip download geopandas==0.14.4 --no-deps -d /tmp/gp
    unzip -o /tmp/gp/geopandas-0.14.4-py3-none-any.whl 'geopandas/datasets/*' -d /tmp/gp/x
    pip install --target /tmp/pyshp pyshp
    PYTHONPATH=/tmp/pyshp python tools/make_world.py \
        /tmp/gp/x/geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp

Output: {"source", "licence", "scale", "countries": [{"iso3", "name", "rings"}]}; each ring is a
flat list [lon0, lat0, lon1, lat1, ...] in tenths of a degree (integers: at the report's 1000 px
width a pixel is 0.36°, so 0.1° loses nothing visible), consecutive repeats removed, rings with
fewer than three distinct points dropped. Antarctica is left out (no data centre, and it would
take a sixth of the map). Kosovo's iso_a3 is -99 in the source; it is given XKX.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import shapefile

OUT = Path(__file__).resolve().parents[1] / "optimizer" / "assets" / "world110m.json"
SCALE = 10                      # coordinates are stored as round(degrees * SCALE)
LEFT_OUT = {"ATA"}
CODE_FIXES = {"Kosovo": "XKX"}


def rings(shape: shapefile.Shape) -> list[list[int]]:
    """The shape's rings (outer rings and holes alike; the map fills them even-odd), rounded."""
    bounds = list(shape.parts) + [len(shape.points)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        ring: list[tuple[int, int]] = []
        for lon, lat in shape.points[a:b]:
            point = (round(lon * SCALE), round(lat * SCALE))
            if not ring or ring[-1] != point:
                ring.append(point)
        if len(set(ring)) >= 3:
            out.append([v for point in ring for v in point])
    return out


def main(shp: str) -> None:
    reader = shapefile.Reader(shp)
    countries = []
    for record, shape in zip(reader.records(), reader.shapes()):
        code = CODE_FIXES.get(record["name"], record["iso_a3"])
        if code in LEFT_OUT:
            continue
        assert len(code) == 3 and code.isalpha(), f"{record['name']}: no ISO code ({code})"
        countries.append({"iso3": code, "name": record["name"], "rings": rings(shape)})
    countries.sort(key=lambda c: c["iso3"])
    data = {"source": "Natural Earth 1:110m Admin 0 - Countries, via the geopandas 0.14.4 wheel "
                      "(geopandas/datasets/naturalearth_lowres)",
            "licence": "public domain (https://www.naturalearthdata.com/about/terms-of-use/)",
            "scale": SCALE, "countries": countries}
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(countries)} countries, {sum(len(r) // 2 for c in countries for r in c['rings'])} points, "
          f"{OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
