"""Benchmark: what the allocator costs a station's image work (prep.memory).

Renders a 100 dpi scan and runs the station's quality check on it (decode, ink, QR),
``--images`` times, in two fresh processes: glibc's default allocator, then with
:func:`prep.memory.keep_freed_memory`. Prints one JSON object with, per variant, the
user and system CPU milliseconds and the minor page faults per image (from
``getrusage``), and the conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys

from bench.requisitos import NoCorre


def measure(images: int, keep: bool) -> dict[str, float]:
    from prep.catalog import generate_catalog
    from prep.memory import keep_freed_memory
    from prep.qr import ActaCodec
    from prep.sintetico.acta_image import ActaImageOptions
    from prep.sintetico.acta_image import render_acta_image
    from prep.station.scan.quality import check_image

    if keep and not keep_freed_memory():
        raise NoCorre("mallopt no está disponible aquí (glibc): no se puede medir con la "
                      "memoria liberada retenida")
    catalog = generate_catalog(7, 0.01)
    codec = ActaCodec(catalog)
    actas = list(catalog.iter_actas())
    render_acta_image(actas[0], {}, ActaImageOptions(dpi=100))  # fonts, forms: once
    before = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(images):
        acta = actas[i % len(actas)]
        valores = {c: (i * 31 + j * 7) % 400 for j, c in enumerate(acta.layout.campos)}
        data = render_acta_image(acta, valores, ActaImageOptions(
            dpi=100, skew_degrees=1.0, seed=i), catalog)
        if check_image(data, codec=codec).acta is not acta:
            raise SystemExit(f"image {i}: the check did not find its acta")
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"user_ms_per_image": round((after.ru_utime - before.ru_utime) / images * 1000, 2),
            "sys_ms_per_image": round((after.ru_stime - before.ru_stime) / images * 1000, 2),
            "page_faults_per_image": round((after.ru_minflt - before.ru_minflt) / images),
            "max_rss_mb": round(after.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--variant", choices=("default", "keep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.images, args.variant == "keep")))
        return
    out: dict[str, object] = {
        "images": args.images, "dpi": 100, "work": "render + check_image per image",
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "libc": " ".join(platform.libc_ver())}
    for variant in ("default", "keep"):
        done = subprocess.run([sys.executable, __file__, "--images", str(args.images),
                               "--variant", variant], check=True, capture_output=True,
                              text=True)
        out[variant] = json.loads(done.stdout)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.image_memory", main))
