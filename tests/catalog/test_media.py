"""Product media: validation with Pillow, metadata stripped, renditions, URL fetch, ordering.

Given/when/then; every refusal is checked to have left no row and no file behind. Images are
real ones made with Pillow; URL fetches go to a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from catalog import media as media_services
from catalog import services
from catalog.exceptions import ImageInvalid, NotAllowed
from catalog.models import Product, ProductMedia
from tests.catalog.factories import ProductFactory, complete_product, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_storage(settings: Any) -> None:
    """Each test gets an empty in-memory storage, so 'no file left behind' is exact."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }


def a_product() -> Product:
    return cast(Product, ProductFactory())


def stored_files(folder: str = "products") -> list[str]:
    """Every file under ``folder`` in the default storage, recursively."""
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}" for name in files]
    for name in dirs:
        found += stored_files(f"{folder}/{name}")
    return sorted(found)


def jpeg_with_exif(size: tuple[int, int] = (80, 40)) -> bytes:
    """A JPEG as a phone writes it: camera make, GPS position, rotated 90° by EXIF orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6  # display rotated 90° clockwise
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (48.0, 51.0, 24.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (2.0, 21.0, 3.0),
        }
    )
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` pixels, with a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def upload(product: Product, data: bytes, name: str = "shirt.png", **kwargs: Any) -> ProductMedia:
    return media_services.media_create_from_upload(
        product_id=product.id, file=SimpleUploadedFile(name, data), **kwargs
    )


def opened(media: ProductMedia) -> Image.Image:
    with default_storage.open(str(media.image.name), "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
        return image


# --- uploads -------------------------------------------------------------------------------------


def test_an_uploaded_png_is_stored_ready_and_gets_renditions(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a product
    product = a_product()
    # when a 2000x1000 PNG is uploaded (the renditions task runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        media = upload(product, png_bytes(size=(2000, 1000)), alt_text=" Front view ")
    # then it is ready, first, with its dimensions and alt text
    media.refresh_from_db()
    assert (media.status, media.position, media.alt_text) == ("ready", 0, "Front view")
    assert (media.width, media.height) == (2000, 1000)
    assert str(media.image.name).startswith(f"products/{product.id}/")
    assert opened(media).format == "PNG"
    # and three renditions exist, longest side 160/600/1200
    assert set(media.renditions) == {"thumb", "medium", "large"}
    sizes = {}
    for name, path in media.renditions.items():
        with default_storage.open(path, "rb") as handle:
            sizes[name] = Image.open(handle).size
    assert sizes == {"thumb": (160, 80), "medium": (600, 300), "large": (1200, 600)}
    assert len(stored_files()) == 4


def test_renditions_never_enlarge_and_are_idempotent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        media = upload(product, png_bytes(size=(300, 100)))
    media.refresh_from_db()
    first = dict(media.renditions)
    sizes = {}
    for name, path in first.items():
        with default_storage.open(path, "rb") as handle:
            sizes[name] = Image.open(handle).size
    # a 300 px wide image: thumb is reduced, medium and large keep 300 px (never enlarged)
    assert sizes == {"thumb": (160, 53), "medium": (300, 100), "large": (300, 100)}

    # when the task runs again, nothing changes; when one file went missing, only it is remade
    assert media_services.media_renditions_generate(media_id=media.id) == first
    default_storage.delete(first["thumb"])
    again = media_services.media_renditions_generate(media_id=media.id)
    assert again == first
    assert default_storage.exists(first["thumb"])
    assert len(stored_files()) == 4


def test_renditions_keep_transparency(django_capture_on_commit_callbacks: Any) -> None:
    image = Image.new("P", (300, 300), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    with django_capture_on_commit_callbacks(execute=True):
        media = upload(a_product(), buffer.getvalue(), name="cutout.png")
    media.refresh_from_db()
    with default_storage.open(media.renditions["thumb"], "rb") as handle:
        thumb = Image.open(handle)
        thumb.load()
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((0, 0))[3] == 0


def test_uploads_are_appended_in_order_unless_a_position_is_given() -> None:
    product = a_product()
    first = upload(product, png_bytes())
    second = upload(product, png_bytes(color="white"))
    explicit = upload(product, png_bytes(color="green"), position=7)
    fourth = upload(product, png_bytes(color="blue"))
    assert [first.position, second.position, explicit.position, fourth.position] == [0, 1, 7, 8]


def test_exif_is_stripped_and_orientation_applied() -> None:
    # given a phone JPEG with camera make, GPS position and orientation "rotate 90°"
    data = jpeg_with_exif(size=(80, 40))
    with Image.open(io.BytesIO(data)) as original:
        exif = original.getexif()
        assert exif[ExifTags.Base.Make] == "PhoneMaker"
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)
    # when it is uploaded
    media = upload(a_product(), data, name="photo.jpg")
    # then the stored JPEG has no EXIF at all and its pixels are upright (portrait now)
    stored = opened(media)
    assert stored.format == "JPEG"
    assert "exif" not in stored.info
    assert dict(stored.getexif()) == {}
    assert stored.size == (40, 80)
    assert (media.width, media.height) == (40, 80)


def test_png_text_metadata_is_dropped() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe, 12 Private Street")
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), "blue").save(buffer, format="PNG", pnginfo=info)
    media = upload(a_product(), buffer.getvalue())
    stored = opened(media)
    assert "Author" not in stored.info
    assert stored.mode == "RGBA"


def test_a_phone_multi_picture_jpeg_is_stored_as_a_plain_jpeg() -> None:
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (30, 20), "red"), Image.new("RGB", (30, 20), "blue")
    first.save(buffer, format="MPO", save_all=True, append_images=[second])
    with Image.open(io.BytesIO(buffer.getvalue())) as probe:
        assert probe.format == "MPO"
    media = upload(a_product(), buffer.getvalue(), name="photo.jpg")
    stored = opened(media)
    assert (stored.format, stored.size) == ("JPEG", (30, 20))
    assert str(media.image.name).endswith(".jpg")


def test_gif_transparency_survives_the_cleaning() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((5, 5), 1)
    buffer = io.BytesIO()
    image.save(buffer, format="GIF", transparency=0, comment=b"made by Jane")
    stored = opened(upload(a_product(), buffer.getvalue(), name="dot.gif"))
    assert stored.format == "GIF"
    assert stored.info.get("transparency") == 0
    assert "comment" not in stored.info
    assert stored.convert("RGBA").getpixel((0, 0))[3] == 0


def _truncated_png() -> bytes:
    data = png_bytes(size=(400, 400), color="navy")
    # noise so that the pixel data is long, then cut it in half
    image = Image.effect_noise((400, 400), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"just some notes, not a picture\n", "notes.png", "The file is not an image"),
        (b"", "empty.png", "The file is empty."),
        (_truncated_png(), "cut.png", "truncated or corrupt"),
        (png_bytes(fmt="BMP"), "old.bmp", "BMP images are not accepted"),
        (png_bytes(fmt="TIFF"), "scan.tiff", "TIFF images are not accepted"),
    ],
    ids=["text-renamed-png", "empty", "truncated", "bmp", "tiff"],
)
def test_files_that_are_not_acceptable_images_are_refused_leaving_nothing(
    data: bytes, name: str, message: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ImageInvalid) as refused,
    ):
        upload(product, data, name=name)
    assert message in refused.value.message
    assert refused.value.code == "invalid_image"
    assert not ProductMedia.objects.exists()
    assert stored_files() == []
    assert callbacks == []


def test_an_image_above_the_pixel_limit_is_refused(settings: Any) -> None:
    settings.CATALOG_IMAGE_MAX_PIXELS = 1000
    product = a_product()
    with pytest.raises(ImageInvalid) as refused:
        upload(product, png_bytes(size=(64, 48)))
    assert refused.value.message == (
        "The image is 64 x 48 pixels (0.0 megapixels); at most 0.0 megapixels are accepted."
    )
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding() -> None:
    # given an 8000 x 8000 PNG header (64 megapixels) in a file of a few hundred bytes
    bomb = png_bomb(8000, 8000)
    assert len(bomb) < 200
    # when it is uploaded, then the 16 megapixel limit refuses it from the header alone
    with pytest.raises(ImageInvalid) as refused:
        upload(a_product(), bomb, name="big.png")
    assert refused.value.message == (
        "The image is 8000 x 8000 pixels (64.0 megapixels); at most 16.0 megapixels are accepted."
    )
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_a_webp_has_its_own_lower_pixel_limit_for_its_hungrier_encoder() -> None:
    # given a 2100 x 2000 WEBP (4.2 megapixels): within the 16 MP of a JPEG, above WEBP's 4 MP
    buffer = io.BytesIO()
    Image.new("RGB", (2100, 2000), (200, 30, 30)).save(buffer, format="WEBP")
    # when it is uploaded, then it is refused before it is decoded
    with pytest.raises(ImageInvalid) as refused:
        upload(a_product(), buffer.getvalue(), name="wide.webp")
    assert refused.value.message == (
        "The image is 2100 x 2000 pixels (4.2 megapixels); at most 4.0 megapixels are accepted."
    )
    assert stored_files() == []


def test_a_decompression_bomb_is_refused() -> None:
    # given a 10-gigapixel PNG header in a file of a few hundred bytes
    bomb = png_bomb(100_000, 100_000)
    assert len(bomb) < 200
    # when it is uploaded, then Pillow's own bomb guard is turned into a clear refusal
    with pytest.raises(ImageInvalid) as refused:
        upload(a_product(), bomb, name="bomb.png")
    assert refused.value.message == (
        "The image declares far more pixels than it can hold (a decompression bomb); "
        "it was refused."
    )
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_pillow_bomb_warning_range_is_refused_too(settings: Any) -> None:
    # between Pillow's limit and twice it, Pillow only warns: that warning is an error here
    settings.CATALOG_IMAGE_MAX_PIXELS = 10**12
    width = int((Image.MAX_IMAGE_PIXELS or 89_478_485) ** 0.5) + 10
    with pytest.raises(ImageInvalid) as refused:
        upload(a_product(), png_bomb(width, width), name="bomb.png")
    assert "decompression bomb" in refused.value.message
    assert stored_files() == []


def test_a_file_above_the_byte_limit_is_refused(settings: Any) -> None:
    settings.CATALOG_IMAGE_MAX_BYTES = 100
    data = png_bytes(size=(64, 48))
    assert len(data) > 100
    with pytest.raises(ImageInvalid) as refused:
        upload(a_product(), data)
    assert refused.value.message == (
        f"The file is {len(data):,} bytes; at most 100 bytes are accepted."
    )
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_a_plain_binary_file_object_is_accepted() -> None:
    media = media_services.media_create_from_upload(
        product_id=a_product().id, file=io.BytesIO(png_bytes())
    )
    assert media.status == "ready"
    assert (media.width, media.height) == (64, 48)


def test_a_variant_of_another_product_is_refused() -> None:
    webshop_tee = a_product()
    other = a_product()
    variant = services.variant_save(product=other, sku="OTHER-1")
    with pytest.raises(ImageInvalid) as refused:
        upload(webshop_tee, png_bytes(), variant_id=variant.id)
    assert refused.value.code == "variant_not_of_product"
    assert not ProductMedia.objects.exists()
    assert stored_files() == []
    # while a variant of its own product is fine
    own = services.variant_save(product=webshop_tee, sku="TEE-1")
    media = upload(webshop_tee, png_bytes(), variant_id=own.id)
    assert media.variant_id == own.id


def test_unknown_product_is_refused() -> None:
    with pytest.raises(ImageInvalid) as refused:
        media_services.media_create_from_upload(product_id=999_999, file=io.BytesIO(png_bytes()))
    assert refused.value.code == "unknown_product"
    assert stored_files() == []


def test_users_without_the_permission_cannot_add_images() -> None:
    from tests.factories import UserFactory

    clerk = UserFactory(username="clerk")
    with pytest.raises(NotAllowed):
        upload(a_product(), png_bytes(), user=clerk)
    assert not ProductMedia.objects.exists()


def test_merchandisers_can_add_images(merchandiser: Any) -> None:
    media = upload(a_product(), png_bytes(), user=merchandiser)
    assert media.status == "ready"


# --- fetching by URL -----------------------------------------------------------------------------


class _Images(BaseHTTPRequestHandler):
    routes: dict[str, Callable[[_Images], None]] = {}

    def do_GET(self) -> None:
        handler = self.routes.get(self.path)
        if handler is None:
            self.send_error(404, "Not Found")
            return
        handler(self)

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


def _send(body: bytes, content_type: str = "image/png") -> Callable[[_Images], None]:
    def handler(request: _Images) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def _stream_without_length(body: bytes) -> Callable[[_Images], None]:
    def handler(request: _Images) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/png")
        request.end_headers()
        request.wfile.write(body)

    return handler


def _slow(request: _Images) -> None:
    time.sleep(1.5)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
        _send(png_bytes())(request)


def _redirect_to_file(request: _Images) -> None:
    request.send_response(302)
    request.send_header("Location", "file:///etc/passwd")
    request.end_headers()


def _redirect_to_image(request: _Images) -> None:
    request.send_response(302)
    request.send_header("Location", "/shirt.png")
    request.end_headers()


@pytest.fixture
def image_server(settings: Any) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (any free port) serving a few images and failures; the
    fetcher is allowed to reach private addresses for it."""
    settings.CATALOG_IMAGE_FETCH_ALLOW_PRIVATE = True
    _Images.routes = {
        "/shirt.png": _send(png_bytes(size=(800, 400))),
        "/notes.png": _send(b"hello, I am text", content_type="text/plain"),
        "/huge.png": _send(png_bytes(size=(64, 48)) + b"\0" * 5000),
        "/huge-unsized.png": _stream_without_length(png_bytes(size=(64, 48)) + b"\0" * 200_000),
        "/slow.png": _slow,
        "/to-file": _redirect_to_file,
        "/moved.png": _redirect_to_image,
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_image_url_is_fetched_cleaned_and_rendered(
    image_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    url = f"{image_server}/shirt.png"
    # when an image is added by URL: pending row, the fetch runs after commit
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_from_url(
            product_id=product.id, url=url, alt_text="Front"
        )
        assert media.status == "pending"
    media.refresh_from_db()
    # then it is ready with renditions
    assert (media.status, media.error, media.source_url) == ("ready", "", url)
    assert (media.width, media.height) == (800, 400)
    assert set(media.renditions) == {"thumb", "medium", "large"}
    assert len(stored_files()) == 4


def test_a_redirect_is_followed_to_an_image(
    image_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_from_url(
            product_id=a_product().id, url=f"{image_server}/moved.png"
        )
    media.refresh_from_db()
    assert media.status == "ready"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing.png", "127.0.0.1 answered HTTP 404 (Not Found)."),
        ("/notes.png", "The file is not an image: upload a JPEG, PNG, WEBP or GIF."),
        (
            "/huge.png",
            f"The image is {len(png_bytes(size=(64, 48))) + 5000:,} bytes; "
            "at most 5,000 bytes are accepted.",
        ),
        ("/huge-unsized.png", "The image is larger than 5,000 bytes; the download was stopped."),
        ("/slow.png", "127.0.0.1 did not answer within 0.5 seconds."),
        ("/to-file", "127.0.0.1 answered HTTP 302 with a redirect that is not followed"),
        (None, "Could not reach 127.0.0.1"),
    ],
    ids=["404", "not-an-image", "too-big", "too-big-streamed", "timeout", "file-redirect", "down"],
)
def test_a_failed_fetch_marks_the_media_failed_without_raising(
    image_server: str,
    path: str | None,
    error: str,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CATALOG_IMAGE_MAX_BYTES = 5000
    settings.CATALOG_IMAGE_FETCH_TIMEOUT = 0.5
    url = f"{image_server}{path}" if path else f"http://127.0.0.1:{_free_port()}/shirt.png"
    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_from_url(product_id=product.id, url=url)
    media.refresh_from_db()
    assert media.status == "failed"
    assert media.error.startswith(error), media.error
    assert not media.image
    assert stored_files() == []


def test_private_addresses_are_not_fetched_by_default(
    image_server: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given the default: only public addresses (no cloud metadata, no internal services)
    settings.CATALOG_IMAGE_FETCH_ALLOW_PRIVATE = False
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_from_url(
            product_id=a_product().id, url=f"{image_server}/shirt.png"
        )
    media.refresh_from_db()
    assert media.status == "failed"
    assert media.error == (
        "127.0.0.1 resolves to a non-public address (127.0.0.1); images are fetched from "
        "public addresses only."
    )
    assert stored_files() == []


def test_fetch_of_a_non_http_url_is_refused_up_front() -> None:
    with pytest.raises(ImageInvalid) as refused:
        media_services.media_create_from_url(product_id=a_product().id, url="file:///etc/passwd")
    assert refused.value.code == "invalid_image_url"
    assert not ProductMedia.objects.exists()


def test_adding_the_same_url_twice_returns_the_same_media(
    image_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    url = f"{image_server}/shirt.png"
    with django_capture_on_commit_callbacks(execute=True):
        first = media_services.media_create_from_url(product_id=product.id, url=url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = media_services.media_create_from_url(
            product_id=product.id, url=url, alt_text="other"
        )
    assert again.id == first.id
    assert callbacks == []  # nothing fetched again
    assert ProductMedia.objects.filter(product=product).count() == 1
    assert len(stored_files()) == 4
    # the same URL on another product is another image
    other = media_services.media_create_from_url(product_id=a_product().id, url=url)
    assert other.id != first.id


def test_adding_a_url_that_failed_before_tries_it_again(
    image_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    url = f"{image_server}/later.png"
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_from_url(product_id=product.id, url=url)
    media.refresh_from_db()
    assert media.status == "failed"
    # the image appears on the server, the import runs again
    _Images.routes["/later.png"] = _send(png_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        again = media_services.media_create_from_url(product_id=product.id, url=url)
    again.refresh_from_db()
    assert (again.id, again.status, again.error) == (media.id, "ready", "")


def test_the_fetch_task_is_harmless_on_a_ready_or_deleted_media(image_server: str) -> None:
    from catalog.tasks import media_fetch

    product = a_product()
    media = media_services.media_create_from_url(
        product_id=product.id, url=f"{image_server}/shirt.png"
    )
    assert media_fetch(media.id) == "ready"
    name = ProductMedia.objects.get(id=media.id).image.name
    assert media_fetch(media.id) == "ready"
    assert ProductMedia.objects.get(id=media.id).image.name == name
    assert stored_files() == [name]
    ProductMedia.objects.filter(id=media.id).delete()
    assert media_fetch(media.id) is None


# --- editing -------------------------------------------------------------------------------------


def _approved(product: Product, merchandiser: Any, approver: Any) -> Product:
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    return product


@pytest.mark.parametrize("change", ["upload", "alt_text", "reorder", "delete", "url_fetched"])
def test_changing_media_of_an_approved_product_sends_it_back_to_review(
    change: str,
    webshop: Any,
    merchandiser: Any,
    approver: Any,
    image_server: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = _approved(complete_product(webshop), merchandiser, approver)
    existing = product.media.get()
    with django_capture_on_commit_callbacks(execute=True):
        if change == "upload":
            upload(product, png_bytes(), user=merchandiser)
        elif change == "alt_text":
            media_services.media_update(media_id=existing.id, alt_text="Back", user=merchandiser)
        elif change == "reorder":
            extra = ProductMedia.objects.create(product=product, position=5, status="failed")
            media_services.media_reorder(
                product_id=product.id, media_ids_in_order=[extra.id, existing.id]
            )
        elif change == "delete":
            media_services.media_delete(media_id=existing.id, user=merchandiser)
        else:
            pending = ProductMedia.objects.create(
                product=product, source_url=f"{image_server}/shirt.png"
            )
            media_services.media_fetch(media_id=pending.id)
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    assert product.approved_snapshot is not None  # the approved version stays live meanwhile


def test_deleting_the_only_image_makes_the_product_incomplete(
    webshop: Any, django_capture_on_commit_callbacks: Any
) -> None:
    product = complete_product(webshop)
    assert product.completeness.get().percent == 100
    with django_capture_on_commit_callbacks(execute=True):
        media_services.media_delete(media_id=product.media.get().id)
    completeness = product.completeness.get()
    assert completeness.percent < 100
    assert "an image" in completeness.missing


def test_an_unchanged_edit_does_not_reopen_review(
    webshop: Any, merchandiser: Any, approver: Any
) -> None:
    product = _approved(complete_product(webshop), merchandiser, approver)
    existing = product.media.get()
    media_services.media_update(media_id=existing.id, alt_text=existing.alt_text)
    media_services.media_reorder(product_id=product.id, media_ids_in_order=[existing.id])
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED


def test_reorder_sets_positions_and_refuses_incomplete_lists() -> None:
    product = a_product()
    a, b, c = (upload(product, png_bytes(color=color)) for color in ("red", "green", "blue"))
    media_services.media_reorder(product_id=product.id, media_ids_in_order=[c.id, a.id, b.id])
    assert list(product.media.order_by("position").values_list("id", "position")) == [
        (c.id, 0),
        (a.id, 1),
        (b.id, 2),
    ]
    stranger = upload(a_product(), png_bytes())
    with pytest.raises(ImageInvalid) as refused:
        media_services.media_reorder(
            product_id=product.id, media_ids_in_order=[a.id, a.id, stranger.id]
        )
    assert refused.value.code == "invalid_media_order"
    assert refused.value.message == (
        f"List every image of the product exactly once; listed more than once: {a.id}; "
        f"not media of this product: {stranger.id}; missing: {b.id}, {c.id}."
    )
    # nothing moved
    assert list(product.media.order_by("position").values_list("id", flat=True)) == [
        c.id,
        a.id,
        b.id,
    ]


def test_update_moves_an_image_to_a_variant_and_back() -> None:
    product = a_product()
    variant = services.variant_save(product=product, sku="TEE-NAVY")
    media = upload(product, png_bytes(), alt_text="Front")
    updated = media_services.media_update(media_id=media.id, variant_id=variant.id)
    assert (updated.variant_id, updated.alt_text) == (variant.id, "Front")
    updated = media_services.media_update(media_id=media.id, variant_id=None, alt_text="Side")
    assert (updated.variant_id, updated.alt_text) == (None, "Side")
    other_variant = services.variant_save(product=a_product(), sku="OTHER")
    with pytest.raises(ImageInvalid):
        media_services.media_update(media_id=media.id, variant_id=other_variant.id)
    with pytest.raises(ImageInvalid) as too_long:
        media_services.media_update(media_id=media.id, alt_text="x" * 256)
    assert too_long.value.code == "invalid_alt_text"
    media.refresh_from_db()
    assert (media.variant_id, media.alt_text) == (None, "Side")


def test_delete_removes_the_row_the_file_and_the_renditions(
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        keep = upload(product, png_bytes(color="white"))
        media = upload(product, png_bytes())
    assert len(stored_files()) == 8
    with django_capture_on_commit_callbacks(execute=True):
        media_services.media_delete(media_id=media.id)
    assert list(ProductMedia.objects.values_list("id", flat=True)) == [keep.id]
    keep.refresh_from_db()
    assert stored_files() == sorted([str(keep.image.name), *keep.renditions.values()])
    # deleting again is a no-op
    media_services.media_delete(media_id=media.id)


def test_media_changes_are_kept_in_history() -> None:
    product = a_product()
    media = upload(product, png_bytes(), alt_text="Front")
    media_services.media_update(media_id=media.id, alt_text="Back")
    assert list(media.history.order_by("history_date").values_list("alt_text", flat=True)) == [
        "Front",
        "Back",
    ]


# --- admin inline --------------------------------------------------------------------------------


def _admin_form(product: Product, media: list[ProductMedia], **rows: Any) -> dict[str, Any]:
    """The product change form as the browser posts it, with one media row per existing image
    (``rows`` overrides fields, e.g. ``{"media-0-alt_text": "Back"}``)."""
    form: dict[str, Any] = {
        "name": product.name,
        "handle": product.handle,
        "brand": product.brand,
        "description": product.description,
        "variants-TOTAL_FORMS": 0,
        "variants-INITIAL_FORMS": 0,
        "channel_content-TOTAL_FORMS": 0,
        "channel_content-INITIAL_FORMS": 0,
        "media-TOTAL_FORMS": len(media),
        "media-INITIAL_FORMS": len(media),
    }
    for index, item in enumerate(media):
        form.update(
            {
                f"media-{index}-id": item.pk,
                f"media-{index}-product": product.pk,
                f"media-{index}-alt_text": item.alt_text,
                f"media-{index}-variant": item.variant_id or "",
                f"media-{index}-position": item.position,
            }
        )
    form.update(rows)
    return form


def _admin(merchandiser: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(merchandiser)
    return client


def _change_url(product: Product) -> str:
    from django.urls import reverse

    return reverse("admin:catalog_product_change", args=[product.pk])


def test_admin_shows_images_in_order_with_thumbnails(
    merchandiser: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from catalog.admin_media import thumbnail_html

    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        second = upload(product, png_bytes(size=(400, 400)), alt_text="Back", position=1)
        first = upload(product, png_bytes(size=(400, 400)), alt_text="Front", position=0)
    pending = ProductMedia.objects.create(product=product, source_url="https://x.test/a.png")
    failed = ProductMedia.objects.create(
        product=product, source_url="https://x.test/b.png", status="failed", error="HTTP 404"
    )
    first.refresh_from_db()
    # the thumbnail is the thumb rendition, with the alt text
    assert thumbnail_html(first) == (
        f'<img src="/media/{first.renditions["thumb"]}" alt="Front" loading="lazy" '
        'style="max-width:80px;max-height:80px;object-fit:contain;border-radius:4px">'
    )
    assert thumbnail_html(pending) == (
        '<span class="media-status media-pending">Pending (not fetched yet)</span>'
    )
    page = _admin(merchandiser).get(_change_url(product)).content.decode()
    assert page.index('value="Front"') < page.index('value="Back"')
    assert first.renditions["thumb"] in page
    assert "HTTP 404" in page
    assert second.pk and failed.pk


def test_admin_change_page_queries_do_not_grow_with_images(
    merchandiser: Any, django_assert_max_num_queries: Any
) -> None:
    client = _admin(merchandiser)
    product = a_product()
    services.variant_save(product=product, sku="TEE-1")
    upload(product, png_bytes())
    with django_assert_max_num_queries(60) as few:
        assert client.get(_change_url(product)).status_code == 200
    for color in ("red", "green", "blue", "white", "black", "gray"):
        upload(product, png_bytes(color=color))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(_change_url(product)).status_code == 200


def test_admin_uploads_edits_reorders_and_deletes_through_the_services(
    merchandiser: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = _admin(merchandiser)
    product = a_product()
    variant = services.variant_save(product=product, sku="TEE-NAVY")
    a = upload(product, png_bytes(color="red"), alt_text="A")
    b = upload(product, png_bytes(color="green"), alt_text="B")
    c = upload(product, png_bytes(color="blue"), alt_text="C")
    # when the merchandiser renames A, moves C first, deletes B and uploads a JPEG with EXIF
    form = _admin_form(
        product,
        [a, b, c],
        **{
            "media-0-alt_text": "A renamed",
            "media-0-variant": variant.pk,
            "media-1-DELETE": "on",
            "media-2-position": 0,
            "media-0-position": 1,
            "media-TOTAL_FORMS": 4,
            "media-3-product": product.pk,
            "media-3-alt_text": "Phone photo",
            "media-3-image": SimpleUploadedFile("photo.jpg", jpeg_with_exif()),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_change_url(product), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    # then the images are as asked, the new one cleaned and placed last, with renditions
    rows = list(
        product.media.order_by("position", "id").values_list("alt_text", "variant_id", "position")
    )
    assert rows == [("C", None, 0), ("A renamed", variant.pk, 1), ("Phone photo", None, 2)]
    new = product.media.get(alt_text="Phone photo")
    assert "exif" not in opened(new).info
    assert set(new.renditions) == {"thumb", "medium", "large"}
    assert not ProductMedia.objects.filter(pk=b.pk).exists()
    assert not default_storage.exists(str(b.image.name))


def test_admin_refuses_a_bad_image_with_a_form_error_and_writes_nothing(
    merchandiser: Any,
) -> None:
    client = _admin(merchandiser)
    product = a_product()
    form = _admin_form(
        product,
        [],
        **{
            "media-TOTAL_FORMS": 2,
            "media-0-product": product.pk,
            "media-0-image": SimpleUploadedFile("notes.png", b"not a picture"),
            "media-1-product": product.pk,
            "media-1-source_url": "ftp://example.com/a.png",
        },
    )
    response = client.post(_change_url(product), form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file is not an image: upload a JPEG, PNG, WEBP or GIF." in page
    assert "&#x27;ftp://example.com/a.png&#x27; is not an http(s) URL." in page
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_admin_adds_an_image_by_url(
    merchandiser: Any, image_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    form = _admin_form(
        product,
        [],
        **{
            "media-TOTAL_FORMS": 1,
            "media-0-product": product.pk,
            "media-0-source_url": f"{image_server}/shirt.png",
            "media-0-alt_text": "From the supplier",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _admin(merchandiser).post(_change_url(product), form)
    assert response.status_code == 302
    media = product.media.get()
    assert (media.status, media.alt_text, media.position) == ("ready", "From the supplier", 0)


# --- tasks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["catalog.media_fetch", "catalog.media_renditions"])
def test_media_tasks_are_registered_by_name_on_the_default_queue(name: str) -> None:
    import catalog.tasks  # noqa: F401  (what the worker's autodiscovery imports)
    from config.celery import app

    assert name in app.tasks
    route = app.amqp.router.route({}, name)
    assert route["queue"].name == "default"


@pytest.fixture
def _worker_may_fetch_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker process reads its settings from the environment: let it reach 127.0.0.1."""
    monkeypatch.setenv("CATALOG_IMAGE_FETCH_ALLOW_PRIVATE", "true")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fetches_an_image_and_makes_its_renditions(
    image_server: str, _worker_may_fetch_locally: None, celery_worker_process: Any
) -> None:
    # given a product, when an image URL is added (the fetch is queued on commit)
    product = a_product()
    media = media_services.media_create_from_url(
        product_id=product.id, url=f"{image_server}/shirt.png"
    )
    # then the worker process fetches it, and then makes the renditions (read as values: the
    # file is in the worker's own in-memory storage, not this process's)
    deadline = time.monotonic() + 30
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        row = ProductMedia.objects.values("status", "error", "width", "height", "renditions").get(
            id=media.id
        )
        if row["status"] != "pending" and len(row["renditions"]) == 3:
            break
        time.sleep(0.2)
    assert (row["status"], row["error"], row["width"], row["height"]) == ("ready", "", 800, 400)
    assert set(row["renditions"]) == {"thumb", "medium", "large"}
    log = celery_worker_process.log()
    assert "catalog.media_fetch" in log and "catalog.media_renditions" in log


@pytest.mark.postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_and_url_adds_get_distinct_positions_and_no_duplicates() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    # given a product; when 6 uploads and 6 adds of one same URL run at the same moment
    product = a_product()
    barrier = threading.Barrier(12)

    def attempt(n: int) -> Any:
        try:
            barrier.wait(timeout=10)
            if n % 2:
                return media_services.media_create_from_url(
                    product_id=product.id, url="http://127.0.0.1:9/same.png"
                ).id
            return media_services.media_create_from_upload(
                product_id=product.id, file=io.BytesIO(png_bytes(color="red"))
            ).id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=12) as pool:
        ids = list(pool.map(attempt, range(12)))
    # then the product lock made them queue: 6 images and 1 pending URL, positions 0..6
    url_ids = {ids[n] for n in range(1, 12, 2)}
    assert len(url_ids) == 1
    positions = sorted(product.media.values_list("position", flat=True))
    assert positions == list(range(7))
