"""Peak memory of cleaning one uploaded image (``catalog.media.image_clean``), per format and size.

Each measurement runs in a fresh process that reads a generated file and cleans it, and reports
the process's peak resident memory before and after the cleaning; the difference is what an
upload of that size costs a worker on top of its idle footprint. The pixel limits
(``CATALOG_IMAGE_MAX_PIXELS``, ``CATALOG_IMAGE_MAX_PIXELS_WEBP``) are chosen from these figures.

    .venv/bin/python bench/image_memory.py            # 16 and 40 Mpx JPEG/PNG, 4 and 6 Mpx WEBP
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    (4900, 3265, "RGB", "JPEG"),
    (8000, 5000, "RGB", "JPEG"),
    (4900, 3265, "RGBA", "PNG"),
    (2000, 2000, "RGB", "WEBP"),
    (3000, 2000, "RGB", "WEBP"),
]

MEASURE = """
import os, resource, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django
django.setup()
from django.test import override_settings
from catalog.media import image_clean
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with override_settings(
    CATALOG_IMAGE_MAX_PIXELS=10**9, CATALOG_IMAGE_MAX_PIXELS_WEBP=10**9,
    CATALOG_IMAGE_MAX_BYTES=10**9,
):
    image_clean(data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before // 1024, after // 1024)
"""


def main() -> None:
    from PIL import Image

    print("| image | file | peak RSS before | peak RSS after | cleaning costs | bytes/pixel |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for width, height, mode, image_format in CASES:
            path = Path(folder) / f"{width}x{height}.{image_format.lower()}"
            Image.effect_noise((width, height), 60).convert(mode).save(path, format=image_format)
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, str(path)],
                cwd=ROOT,
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            before, after = int(out[-2]), int(out[-1])
            pixels = width * height
            print(
                f"| {width} x {height} {mode} {image_format} ({pixels / 1e6:.1f} Mpx) "
                f"| {path.stat().st_size / 1e6:.1f} MB | {before} MiB | {after} MiB "
                f"| +{after - before} MiB | {(after - before) * 1024 * 1024 / pixels:.0f} |"
            )


if __name__ == "__main__":
    main()
