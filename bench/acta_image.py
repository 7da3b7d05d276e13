"""Benchmark: synthetic Acta PREP images (issue 9) and the station's quality check (issue 5).

Prints one JSON object: per variant, the median and p95 milliseconds to render one image
(target: < 50 ms for a 200 dpi letter-size JPEG scan) and to run
:func:`prep.station.scan.quality.check_image` on it (decode, dpi, ink, QR, skew), plus
the encoded size. One warm-up render per variant is not timed (fonts and the grain
layer are made once per process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from prep.catalog import generate_catalog
from prep.qr import ActaCodec
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.scan.quality import check_image

VARIANTS: dict[str, ActaImageOptions] = {
    "scan_jpeg_200dpi": ActaImageOptions(),
    "scan_jpeg_200dpi_skew2.5": ActaImageOptions(skew_degrees=2.5),
    "scan_png_200dpi_skew2": ActaImageOptions(skew_degrees=2.0, image_format="PNG"),
    "scan_jpeg_300dpi_skew2": ActaImageOptions(dpi=300, skew_degrees=2.0),
    "photo_jpeg": ActaImageOptions(photo=True),
}


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=30, help="images per variant")
    args = parser.parse_args()
    catalog = generate_catalog(7, 0.01)
    codec = ActaCodec(catalog)
    actas = list(catalog.iter_actas())
    out: dict[str, object] = {"images_per_variant": args.images}
    for name, base in VARIANTS.items():
        render_acta_image(actas[0], {}, base)
        render: list[float] = []
        check: list[float] = []
        sizes: list[int] = []
        for i in range(args.images):
            acta = actas[i % len(actas)]
            valores = {c: (i * 31 + j * 7) % 400 for j, c in enumerate(acta.layout.campos)}
            options = ActaImageOptions(**{**base.__dict__, "seed": i})
            t0 = time.perf_counter()
            data = render_acta_image(acta, valores, options, catalog)
            t1 = time.perf_counter()
            report = check_image(data, codec=codec)
            t2 = time.perf_counter()
            if report.acta is not acta:
                raise SystemExit(f"{name}: QR did not read back ({report.mensaje})")
            render.append(t1 - t0)
            check.append(t2 - t1)
            sizes.append(len(data))
        out[name] = {"render": _ms(render), "check": _ms(check),
                     "median_bytes": int(statistics.median(sizes))}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.acta_image", main))
