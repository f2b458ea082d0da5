"""Benchmark: a phone photo uploaded as a product image, and its renditions.

    .venv/bin/python bench/catalog_media.py            # SQLite and media files in temporary dirs
    DATABASE_URL=postgres://... .venv/bin/python bench/catalog_media.py

Makes a 4000 x 3000 JPEG (12 megapixels, with EXIF: camera, GPS, orientation), then prints the
time of ``media_create_from_upload`` (Pillow validation, EXIF stripped by re-encoding, stored) and
of ``media_renditions_generate`` (thumb 160, medium 600, large 1200 as WEBP), each the best of 5,
and the process's peak resident memory. The bench data is deleted afterwards.
"""

from __future__ import annotations

import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ["OMNIHUB_MEDIA_ROOT"] = tempfile.mkdtemp()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"  # renditions are timed on their own below
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from PIL import ExifTags, Image  # noqa: E402

from catalog.media import media_create_from_upload, media_renditions_generate  # noqa: E402
from catalog.models import Product, ProductMedia  # noqa: E402

HANDLE = "bench-media"


def phone_photo() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N"})
    noise = Image.effect_noise((4000, 3000), 12)  # grain, so the file is photo-sized
    gradient = Image.radial_gradient("L").resize((4000, 3000))
    image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def main() -> None:
    call_command("migrate", verbosity=0)
    Product.objects.filter(handle=HANDLE).delete()
    product = Product.objects.create(handle=HANDLE, name="Bench media")
    data = phone_photo()
    try:
        uploads, renditions = [], []
        for _ in range(5):
            started = time.perf_counter()
            media = media_create_from_upload(product_id=product.pk, file=io.BytesIO(data))
            uploads.append(time.perf_counter() - started)
            started = time.perf_counter()
            made = media_renditions_generate(media_id=media.pk)
            renditions.append(time.perf_counter() - started)
            assert set(made) == {"thumb", "medium", "large"}
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
        print(f"12 Mpx JPEG ({len(data) / 1e6:.1f} MB) upload: {min(uploads) * 1000:.0f} ms")
        print(f"three renditions: {min(renditions) * 1000:.0f} ms")
        print(f"peak resident memory of the whole process: {peak / 2**20:.0f} MiB")
    finally:
        for media in ProductMedia.objects.filter(product=product):
            for path in (media.renditions or {}).values():
                media.image.storage.delete(path)
            media.image.delete(save=False)
        product.delete()


if __name__ == "__main__":
    main()
