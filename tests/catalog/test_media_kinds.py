"""Media beyond images: videos (file or URL), 360° views (frames) and PDF documents.

Given/when/then. Every refusal is checked to have left no row, no frame and no file behind, and
the product unchanged. Files are real of their kind: PDFs written by pypdf (encrypted ones too),
MP4 and WebM files with the container structure players read (an ``ftyp``/``moov``/``mdat`` ISO
media file; an EBML header of DocType ``webm`` and a Segment), frames made with Pillow.
"""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import media as media_services
from catalog import services
from catalog.exceptions import ImageInvalid, MediaInvalid
from catalog.models import Product, ProductMedia, SpinFrame
from tests.catalog.factories import ProductFactory, complete_product, png_bytes
from tests.catalog.media_files import box, mp4_bytes, pdf_bytes, stored_files, webm_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_storage(settings: Any) -> None:
    """Each test gets an empty in-memory storage, so 'no file left behind' is exact."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    settings.CATALOG_SPIN_MIN_FRAMES = 3
    settings.CATALOG_SPIN_MAX_FRAMES = 6


def a_product() -> Product:
    return cast(Product, ProductFactory())


def nothing_stored() -> None:
    assert not ProductMedia.objects.exists()
    assert not SpinFrame.objects.exists()
    assert stored_files() == []


# --- frames ------------------------------------------------------------------------------------


def frames(count: int = 4, name: str = "frame-{}.png") -> list[SimpleUploadedFile]:
    colors = ["red", "green", "blue", "white", "black", "gray", "navy", "olive"]
    return [
        SimpleUploadedFile(name.format(i + 1), png_bytes(size=(40, 30), color=colors[i % 8]))
        for i in range(count)
    ]


# --- videos --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension"),
    [
        (mp4_bytes(), "Demo Clip.mp4", "video/mp4", "mp4"),
        (mp4_bytes(brand=b"mp42"), "clip.bin", "video/mp4", "mp4"),  # the bytes decide
        (webm_bytes(), "clip.webm", "video/webm", "webm"),
    ],
)
def test_an_uploaded_video_is_stored_ready_with_its_type_and_size(
    data: bytes, name: str, content_type: str, extension: str
) -> None:
    # given a product; when a video file is uploaded
    product = a_product()
    media = media_services.media_create_video_upload(
        product_id=product.id, file=SimpleUploadedFile(name, data), alt_text="How it folds"
    )
    # then it is a ready video, first, with its type and size, stored under the product
    media.refresh_from_db()
    assert (media.kind, media.status, media.position, media.alt_text) == (
        "video",
        "ready",
        0,
        "How it folds",
    )
    assert (media.content_type, media.size_bytes) == (content_type, len(data))
    assert media.file.name.startswith(f"products/{product.id}/")
    assert media.file.name.endswith(f".{extension}")
    with default_storage.open(media.file.name, "rb") as handle:
        assert handle.read() == data
    assert stored_files() == [media.file.name]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The video file is empty."),
        (b"hello, not a video at all", "The file is not a video. Upload an MP4 or WebM video."),
        (png_bytes(), "The file is not a video. Upload an MP4 or WebM video."),
        (
            mp4_bytes(brand=b"qt  ").replace(b"mp41", b"qt  "),
            "The file is an ISO media file of brand 'qt', not an MP4 video.",
        ),
        (mp4_bytes()[:-10], "The video is truncated: its 'mdat' box needs 10 more bytes."),
        (
            box(b"ftyp", b"isom" + bytes(4) + b"isom") + box(b"mdat", bytes(100)),
            "The MP4 has no 'moov' box (no track information): it cannot be played.",
        ),
        (
            webm_bytes(doctype=b"matroska"),
            "The file is a Matroska file of type 'matroska', not a WebM video.",
        ),
    ],
    ids=["empty", "text", "png", "quicktime", "truncated", "no-moov", "matroska"],
)
def test_a_file_that_is_not_an_mp4_or_webm_video_is_refused_and_nothing_is_stored(
    data: bytes, message: str
) -> None:
    product = a_product()
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_video_upload(
            product_id=product.id, file=SimpleUploadedFile("clip.mp4", data)
        )
    assert refused.value.code == "invalid_video"
    assert refused.value.message.startswith(message.split(" Upload")[0])
    assert message in refused.value.message
    nothing_stored()


def test_a_video_over_the_size_limit_is_refused_and_nothing_is_stored(settings: Any) -> None:
    settings.CATALOG_VIDEO_MAX_BYTES = 1024
    product = a_product()
    data = mp4_bytes(payload=4000)
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_video_upload(
            product_id=product.id, file=SimpleUploadedFile("clip.mp4", data)
        )
    assert refused.value.code == "invalid_video"
    assert refused.value.message == (
        f"The video is {len(data):,} bytes; at most 1,024 bytes are accepted."
    )
    nothing_stored()


def test_a_video_from_a_plain_file_object_is_read_within_the_limit(settings: Any) -> None:
    # a stream that does not say its size is copied, and stopped one chunk past the limit
    settings.CATALOG_VIDEO_MAX_BYTES = 100_000
    product = a_product()
    media = media_services.media_create_video_upload(
        product_id=product.id, file=io.BytesIO(webm_bytes())
    )
    assert (media.content_type, media.size_bytes) == ("video/webm", len(webm_bytes()))
    with pytest.raises(MediaInvalid, match=r"at most 100,000 bytes are accepted\.$"):
        media_services.media_create_video_upload(
            product_id=product.id, file=io.BytesIO(mp4_bytes(payload=300_000))
        )
    assert ProductMedia.objects.count() == 1
    assert stored_files() == [media.file.name]


@pytest.mark.parametrize(
    ("url", "provider", "embed_url"),
    [
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "youtube",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ),
        (
            "https://youtu.be/dQw4w9WgXcQ?t=42",
            "youtube",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ),
        ("https://vimeo.com/76979871", "vimeo", "https://player.vimeo.com/video/76979871"),
    ],
)
def test_a_video_url_on_an_allowed_host_is_recorded_ready_without_fetching(
    url: str, provider: str, embed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a product, and a network that must not be used
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a video URL must not be fetched")

    monkeypatch.setattr("socket.getaddrinfo", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    product = a_product()
    # when a video URL is added twice (a re-import)
    media = media_services.media_create_video_url(product_id=product.id, url=url, alt_text="Demo")
    again = media_services.media_create_video_url(product_id=product.id, url=url)
    # then one ready video records it, with its provider
    assert again.id == media.id
    media.refresh_from_db()
    assert (media.kind, media.status, media.source_url, media.provider) == (
        "video",
        "ready",
        url,
        provider,
    )
    from catalog.media_files import video_link

    assert video_link(media.source_url).embed_url == embed_url
    assert stored_files() == []


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        (
            "https://videos.example.com/clip.mp4",
            "video_host_not_allowed",
            "Videos are accepted from youtube.com, youtu.be, vimeo.com only, not from "
            "videos.example.com. Upload the video file instead.",
        ),
        (
            "https://youtube.com.evil.test/watch?v=dQw4w9WgXcQ",
            "video_host_not_allowed",
            "not from youtube.com.evil.test",
        ),
        ("http://169.254.169.254/latest/meta-data", "video_host_not_allowed", "not from 169."),
        ("ftp://youtube.com/clip", "invalid_video_url", "is not an http(s) URL."),
        (
            "https://www.youtube.com/channel/UC123",
            "invalid_video_url",
            "This Youtube URL does not name a video",
        ),
    ],
)
def test_a_video_url_from_a_host_not_allowed_is_refused_and_nothing_is_stored(
    url: str, code: str, message: str
) -> None:
    product = a_product()
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_video_url(product_id=product.id, url=url)
    assert refused.value.code == code
    assert message in refused.value.message
    nothing_stored()


def test_the_allowed_video_hosts_are_a_setting(settings: Any) -> None:
    settings.CATALOG_VIDEO_URL_HOSTS = ["cdn.example.com"]
    product = a_product()
    media = media_services.media_create_video_url(
        product_id=product.id, url="https://media.cdn.example.com/v/clip.mp4"
    )
    assert media.provider == "media.cdn.example.com"
    with pytest.raises(MediaInvalid, match=r"accepted from cdn\.example\.com only"):
        media_services.media_create_video_url(
            product_id=product.id, url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        )


# --- documents -----------------------------------------------------------------------------------


def test_a_pdf_spec_sheet_is_stored_with_its_page_count_and_size() -> None:
    product = a_product()
    data = pdf_bytes(pages=3)
    media = media_services.media_create_document(
        product_id=product.id,
        file=SimpleUploadedFile("Spec Sheet (EN).pdf", data),
        alt_text="Spec sheet",
    )
    media.refresh_from_db()
    assert (media.kind, media.status, media.page_count, media.size_bytes) == (
        "document",
        "ready",
        3,
        len(data),
    )
    assert media.content_type == "application/pdf"
    assert media.file.name.startswith(f"products/{product.id}/spec-sheet-en-")
    assert stored_files() == [media.file.name]


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"", "invalid_document", "The document file is empty."),
        (
            b"Name,Price\nTee,19.99\n",
            "invalid_document",
            "The file is not a PDF document (it does not start with %PDF-).",
        ),
        (png_bytes(), "invalid_document", "The file is not a PDF document"),
        (
            pdf_bytes()[:-200],
            "invalid_document",
            "The PDF is truncated (it does not end with %%EOF).",
        ),
        (
            b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 9 0 R>> endobj\ntrailer <</Root 1 0 R>>\n"
            b"%%EOF\n",
            "invalid_document",
            "The PDF is broken and cannot be read",
        ),
        (
            pdf_bytes(password="secret"),
            "document_encrypted",
            "The PDF is encrypted or password protected; upload an unprotected copy.",
        ),
        (pdf_bytes(pages=0), "invalid_document", "The PDF has no pages."),
    ],
    ids=["empty", "csv", "png", "truncated", "broken", "encrypted", "no-pages"],
)
def test_a_pdf_that_is_not_a_pdf_or_is_encrypted_is_refused_and_nothing_is_stored(
    data: bytes, code: str, message: str
) -> None:
    product = a_product()
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_document(
            product_id=product.id, file=SimpleUploadedFile("spec.pdf", data)
        )
    assert refused.value.code == code
    assert message in refused.value.message
    nothing_stored()


def test_a_document_over_the_size_limit_is_refused(settings: Any) -> None:
    settings.CATALOG_DOCUMENT_MAX_BYTES = 500
    product = a_product()
    with pytest.raises(MediaInvalid, match=r"^The document is [0-9,]+ bytes; at most 500 bytes"):
        media_services.media_create_document(
            product_id=product.id, file=SimpleUploadedFile("spec.pdf", pdf_bytes())
        )
    nothing_stored()


# --- 360° views ----------------------------------------------------------------------------------


def test_a_spin_is_stored_with_ordered_cleaned_frames_and_their_renditions(
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = a_product()
    uploads = frames(4)
    with django_capture_on_commit_callbacks(execute=True):
        media = media_services.media_create_spin(
            product_id=product.id, files=uploads, alt_text="All around"
        )
    media.refresh_from_db()
    assert (media.kind, media.status, media.alt_text, media.width, media.height) == (
        "spin",
        "ready",
        "All around",
        40,
        30,
    )
    stored = list(media.frames.order_by("position"))
    assert [f.position for f in stored] == [0, 1, 2, 3]
    assert all((f.width, f.height) == (40, 30) for f in stored)
    assert all(set(f.renditions) == {"thumb", "medium", "large"} for f in stored)
    # the frames keep their order: the first is red, the second green
    from PIL import Image

    with default_storage.open(stored[1].image.name, "rb") as handle:
        assert Image.open(handle).convert("RGB").getpixel((0, 0)) == (0, 128, 0)
    expected = sorted(
        [f.image.name for f in stored] + [p for f in stored for p in f.renditions.values()]
    )
    assert stored_files() == expected


def test_frames_uploaded_in_the_admin_are_ordered_by_name_numbers_compared_as_numbers() -> None:
    names = ["f-10.jpg", "f-2.jpg", "f-1.jpg"]
    files = [SimpleUploadedFile(name, b"") for name in names]
    assert [f.name for f in media_services.spin_files_ordered(files)] == [
        "f-1.jpg",
        "f-2.jpg",
        "f-10.jpg",
    ]


def test_a_spin_frame_that_is_not_an_image_refuses_the_view_and_nothing_is_stored() -> None:
    product = a_product()
    uploads = frames(4)
    uploads[2] = SimpleUploadedFile("frame-3.png", b"%PDF-1.4 not a picture")
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_spin(product_id=product.id, files=uploads)
    assert refused.value.code == "invalid_spin"
    assert refused.value.message == (
        "Frame 3 (frame-3.png): The file is not an image: upload a JPEG, PNG, WEBP or GIF."
    )
    nothing_stored()  # the two frames stored before the bad one are gone again


@pytest.mark.parametrize("count", [2, 7])
def test_a_spin_with_too_few_or_too_many_frames_is_refused(count: int) -> None:
    product = a_product()
    with pytest.raises(MediaInvalid) as refused:
        media_services.media_create_spin(product_id=product.id, files=frames(count))
    assert refused.value.message == f"A 360° view needs 3 to 6 frames; {count} were given."
    nothing_stored()


def test_a_spin_frame_over_the_image_size_limit_is_refused(settings: Any) -> None:
    settings.CATALOG_IMAGE_MAX_BYTES = 2000
    product = a_product()
    uploads = frames(3)
    uploads[1] = SimpleUploadedFile("big.png", png_bytes(size=(400, 400)) + bytes(3000))
    with pytest.raises(MediaInvalid, match=r"^Frame 2 \(big.png\): The file is .* at most"):
        media_services.media_create_spin(product_id=product.id, files=uploads)
    nothing_stored()


def test_a_failure_after_the_files_were_stored_leaves_no_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the database refuses the row (here: the product vanished meanwhile)
    product = a_product()

    def vanished(product_id: int) -> Any:
        raise ImageInvalid(f"There is no product {product_id}.", code="unknown_product")

    monkeypatch.setattr(media_services, "_product_locked", vanished)
    for create in (
        lambda: media_services.media_create_spin(product_id=product.id, files=frames(3)),
        lambda: media_services.media_create_document(
            product_id=product.id, file=SimpleUploadedFile("a.pdf", pdf_bytes())
        ),
        lambda: media_services.media_create_video_upload(
            product_id=product.id, file=SimpleUploadedFile("a.mp4", mp4_bytes())
        ),
    ):
        with pytest.raises(ImageInvalid, match="There is no product"):
            create()
        nothing_stored()


def test_deleting_a_spin_video_or_document_removes_its_files(
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        spin = media_services.media_create_spin(product_id=product.id, files=frames(3))
        video = media_services.media_create_video_upload(
            product_id=product.id, file=SimpleUploadedFile("a.mp4", mp4_bytes())
        )
        document = media_services.media_create_document(
            product_id=product.id, file=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
    assert len(stored_files()) == 3 * 4 + 2
    with django_capture_on_commit_callbacks(execute=True):
        for media in (spin, video, document):
            media_services.media_delete(media_id=media.id)
    nothing_stored()


# --- review, completeness, permissions -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["video_file", "video_url", "spin", "document"])
def test_adding_any_kind_to_an_approved_product_sends_it_back_to_review(
    kind: str, webshop: Any, merchandiser: Any, approver: Any
) -> None:
    product = complete_product(webshop)
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    common: dict[str, Any] = {"product_id": product.id, "user": merchandiser}
    if kind == "video_file":
        media_services.media_create_video_upload(
            file=SimpleUploadedFile("a.webm", webm_bytes()), **common
        )
    elif kind == "video_url":
        media_services.media_create_video_url(url="https://vimeo.com/76979871", **common)
    elif kind == "spin":
        media_services.media_create_spin(files=frames(3), **common)
    else:
        media_services.media_create_document(
            file=SimpleUploadedFile("a.pdf", pdf_bytes()), **common
        )
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    # and the approved version channels see is still the one without it
    assert [m["kind"] for m in product.approved_snapshot["media_all"]] == ["image"]


def test_a_video_or_document_does_not_count_as_the_image_completeness_asks_for(
    webshop: Any,
) -> None:
    product = complete_product(webshop)
    media_services.media_create_video_url(product_id=product.id, url="https://youtu.be/dQw4w9WgXcQ")
    media_services.media_create_document(
        product_id=product.id, file=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    media_services.media_delete(media_id=product.media.get(kind="image").id)
    completeness = product.completeness.get()
    assert completeness.percent < 100
    assert "an image" in completeness.missing


def test_adding_media_needs_the_permission(db: Any) -> None:
    from django.contrib.auth.models import User

    from catalog.exceptions import NotAllowed

    nobody = User.objects.create_user("nobody")
    product = a_product()
    with pytest.raises(NotAllowed):
        media_services.media_create_document(
            product_id=product.id, file=SimpleUploadedFile("a.pdf", pdf_bytes()), user=nobody
        )
    nothing_stored()


# --- the read API --------------------------------------------------------------------------------


def _live_with_every_kind(
    webshop: Any, merchandiser: Any, approver: Any, on_commit: Any
) -> Product:
    product = complete_product(webshop)
    variant = product.variants.order_by("position").first()
    assert variant is not None
    media_services.media_create_video_url(
        product_id=product.id, url="https://www.youtube.com/watch?v=dQw4w9WgXcQ", alt_text="Demo"
    )
    media_services.media_create_video_upload(
        product_id=product.id,
        file=SimpleUploadedFile("fold.mp4", mp4_bytes()),
        variant_id=variant.id,
    )
    with on_commit(execute=True):  # the frames' renditions are made before approval
        media_services.media_create_spin(product_id=product.id, files=frames(3), alt_text="Around")
    media_services.media_create_document(
        product_id=product.id, file=SimpleUploadedFile("spec.pdf", pdf_bytes(2)), alt_text="Spec"
    )
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    services.product_publish(product_ids=[product.id], channel_code=webshop.code, user=merchandiser)
    return product


def test_the_read_api_shows_every_kind_with_its_own_fields(
    api_client_for: Any,
    webshop: Any,
    merchandiser: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = _live_with_every_kind(
        webshop, merchandiser, approver, django_capture_on_commit_callbacks
    )
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])

    body = client.get(f"/api/v1/products/{product.id}/").json()

    # images stay images only; media lists every kind in display order
    assert [image["alt_text"] for image in body["images"]] == ["Organic Tee front"]
    kinds = [(m["kind"], m["alt_text"]) for m in body["media"]]
    assert kinds == [
        ("image", "Organic Tee front"),
        ("video", "Demo"),
        ("video", ""),
        ("spin", "Around"),
        ("document", "Spec"),
    ]
    image, youtube, upload, spin, document = body["media"]
    assert image["url"] == body["images"][0]["url"]
    assert (image["video"], image["spin"], image["document"]) == (None, None, None)
    assert youtube["url"] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert youtube["video"] == {
        "provider": "youtube",
        "embed_url": "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "content_type": "",
        "size_bytes": None,
    }
    assert upload["url"].startswith(f"http://testserver/media/products/{product.id}/fold-")
    assert upload["url"].endswith(".mp4")
    assert upload["variant_id"] == product.variants.order_by("position").first().id  # type: ignore[union-attr]
    assert upload["video"]["content_type"] == "video/mp4"
    assert upload["video"]["size_bytes"] == len(mp4_bytes())
    assert spin["spin"]["frame_count"] == 3
    assert [(f["width"], f["height"]) for f in spin["spin"]["frames"]] == [(40, 30)] * 3
    assert set(spin["spin"]["frames"][0]["renditions"]) == {"thumb", "medium", "large"}
    assert spin["url"] == spin["spin"]["frames"][0]["url"]
    assert spin["renditions"] == spin["spin"]["frames"][0]["renditions"]
    assert document["url"].endswith(".pdf")
    assert document["document"] == {
        "content_type": "application/pdf",
        "page_count": 2,
        "size_bytes": len(pdf_bytes(2)),
    }
    # and the files the URLs name exist
    for url in (upload["url"], document["url"], spin["spin"]["frames"][2]["url"]):
        assert default_storage.exists(url.split("/media/", 1)[1])


def test_a_snapshot_approved_before_media_kinds_shows_its_images_as_media(
    api_client_for: Any, webshop: Any, merchandiser: Any, approver: Any
) -> None:
    product = complete_product(webshop)
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    services.product_publish(product_ids=[product.id], channel_code=webshop.code, user=merchandiser)
    snapshot = dict(Product.objects.get(id=product.id).approved_snapshot)
    del snapshot["media_all"]  # as the previous release wrote it
    Product.objects.filter(id=product.id).update(approved_snapshot=snapshot)
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    body = client.get(f"/api/v1/products/{product.id}/").json()
    assert [(m["kind"], m["url"]) for m in body["media"]] == [("image", body["images"][0]["url"])]


def test_the_openapi_schema_describes_the_media_kinds(client: Any) -> None:
    schema = client.get("/api/schema/?format=json")
    if schema.status_code == 404:
        schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    components = schema.json()["components"]["schemas"]
    media = components["Media"]["properties"]
    assert media["kind"]["$ref"].endswith("KindEnum") or "enum" in media["kind"]
    assert {"video", "spin", "document", "url", "renditions"} <= set(media)
    assert set(components["DocumentInfo"]["properties"]) == {
        "content_type",
        "page_count",
        "size_bytes",
    }
    assert "media" in components["ChannelProduct"]["properties"]


# --- feeds ---------------------------------------------------------------------------------------


def test_feeds_keep_to_what_google_and_meta_accept() -> None:
    from catalog.selectors import ProductView, VariantView
    from channels.feeds import spec

    variant = VariantView(
        id=7,
        sku="TEE-S",
        gtin="",
        options={},
        attributes={},
        weight_grams=None,
        title="Tee",
        price=None,
    )
    photo = {"kind": "image", "path": "p/photo.png", "renditions": {}, "variant_id": None}
    view = ProductView(
        id=1,
        handle="tee",
        channel_code="feed",
        title="Tee",
        description="Soft",
        brand="Acme",
        category=None,
        attributes={},
        media=[photo],
        variants=[variant],
        media_all=[
            {"kind": "video", "path": None, "url": "https://youtu.be/x", "variant_id": None},
            photo,
            {"kind": "spin", "frames": [{"path": "p/f0.png"}, {"path": "p/f1.png"}]},
            {"kind": "video", "path": "p/other.mp4", "variant_id": 99},
            {"kind": "video", "path": "p/fold.mp4", "variant_id": None},
            {"kind": "document", "path": "p/spec.pdf", "variant_id": None},
        ],
    )

    def url(path: str) -> str:
        return f"https://cdn.test/{path}"

    google = spec.google_fields(
        product=view, variant=variant, available=1, link_template="", image_url=url, price=None
    )
    # Google: images only; frames, videos and documents stay out
    assert google["image_link"] == "https://cdn.test/p/photo.png"
    assert "additional_image_link" not in google
    assert not any("mp4" in str(value) or "f0" in str(value) for value in google.values())
    # Meta: the first downloadable video file shared by the product (not a YouTube page, not
    # another variant's)
    assert spec.meta_video_url(view, variant, url) == "https://cdn.test/p/fold.mp4"
    meta = spec.meta_fields(google, available=1, video_url=spec.meta_video_url(view, variant, url))
    assert meta["video[0].url"] == "https://cdn.test/p/fold.mp4"
    assert "video[0].url" in spec.META_COLUMNS
    assert not [p for p in spec.meta_problems(meta) if p.startswith("video")]
    bad = {**meta, "video[0].url": "fold.mp4"}
    assert "video[0].url: 'fold.mp4' is not an absolute http(s) URL" in spec.meta_problems(bad)


# --- admin ---------------------------------------------------------------------------------------


def _admin_form(product: Product, **rows: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": product.name,
        "handle": product.handle,
        "brand": product.brand,
        "description": product.description,
        "variants-TOTAL_FORMS": 0,
        "variants-INITIAL_FORMS": 0,
        "channel_content-TOTAL_FORMS": 0,
        "channel_content-INITIAL_FORMS": 0,
        "media-TOTAL_FORMS": 0,
        "media-INITIAL_FORMS": 0,
    }
    form.update(rows)
    return form


def _admin(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _change_url(product: Product) -> str:
    from django.urls import reverse

    return reverse("admin:catalog_product_change", args=[product.pk])


def test_the_admin_adds_each_kind_and_shows_what_each_is(
    merchandiser: Any, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    rows = {
        "media-TOTAL_FORMS": 4,
        "media-0-product": product.pk,
        "media-0-kind": "video",
        "media-0-source_url": "https://vimeo.com/76979871",
        "media-0-alt_text": "Demo",
        "media-1-product": product.pk,
        "media-1-kind": "document",
        "media-1-image": SimpleUploadedFile("spec.pdf", pdf_bytes(4)),
        "media-1-alt_text": "Spec sheet",
        "media-2-product": product.pk,
        "media-2-kind": "spin",
        # chosen in any order: stored in file-name order
        "media-2-frames": list(reversed(frames(3, name="turn-{}.png"))),
        "media-3-product": product.pk,
        "media-3-kind": "video",
        "media-3-image": SimpleUploadedFile("fold.webm", webm_bytes()),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _admin(merchandiser).post(_change_url(product), _admin_form(product, **rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    media = list(product.media.order_by("position"))
    assert [(m.kind, m.position) for m in media] == [
        ("video", 0),
        ("document", 1),
        ("spin", 2),
        ("video", 3),
    ]
    spin = media[2]
    assert spin.frames.count() == 3
    # the page shows what each is: the provider, the page count, the frame count, the size
    page = _admin(merchandiser).get(_change_url(product)).content.decode()
    assert "Vimeo video" in page
    assert "PDF, 4 pages" in page
    assert "360° view, 3 frames" in page
    assert "WEBM video, " in page
    assert spin.frames.get(position=0).renditions["thumb"] in page  # the first frame's thumb
    assert "media-kinds-help" in page and "youtube.com, youtu.be, vimeo.com" in page


def test_the_admin_keeps_spin_frames_in_file_name_order(merchandiser: Any) -> None:
    from PIL import Image

    product = a_product()
    uploads = frames(3, name="turn-{}.png")  # red, green, blue
    rows = {
        "media-TOTAL_FORMS": 1,
        "media-0-product": product.pk,
        "media-0-kind": "spin",
        "media-0-frames": [uploads[2], uploads[0], uploads[1]],
    }
    response = _admin(merchandiser).post(_change_url(product), _admin_form(product, **rows))
    assert response.status_code == 302
    firsts = []
    for frame in product.media.get().frames.order_by("position"):
        with default_storage.open(frame.image.name, "rb") as handle:
            firsts.append(Image.open(handle).convert("RGB").getpixel((0, 0)))
    assert firsts == [(255, 0, 0), (0, 128, 0), (0, 0, 255)]


def test_the_admin_refuses_bad_files_of_each_kind_with_form_errors_and_writes_nothing(
    merchandiser: Any,
) -> None:
    product = a_product()
    bad_frames = frames(3)
    bad_frames[1] = SimpleUploadedFile("frame-2.png", b"not a picture")
    rows = {
        "media-TOTAL_FORMS": 4,
        "media-0-product": product.pk,
        "media-0-kind": "document",
        "media-0-image": SimpleUploadedFile("spec.pdf", b"just text, no PDF"),
        "media-1-product": product.pk,
        "media-1-kind": "document",
        "media-1-image": SimpleUploadedFile("locked.pdf", pdf_bytes(password="x")),
        "media-2-product": product.pk,
        "media-2-kind": "video",
        "media-2-source_url": "https://videos.example.com/a.mp4",
        "media-3-product": product.pk,
        "media-3-kind": "spin",
        "media-3-frames": bad_frames,
    }
    response = _admin(merchandiser).post(_change_url(product), _admin_form(product, **rows))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file is not a PDF document (it does not start with %PDF-)." in page
    assert "The PDF is encrypted or password protected; upload an unprotected copy." in page
    assert "not from videos.example.com" in page
    assert "Frame 2 (frame-2.png): The file is not an image" in page
    nothing_stored()


def test_the_admin_change_page_queries_do_not_grow_with_spins(
    merchandiser: Any, django_assert_max_num_queries: Any
) -> None:
    client = _admin(merchandiser)
    product = a_product()
    media_services.media_create_spin(product_id=product.id, files=frames(3))
    with django_assert_max_num_queries(80) as few:
        assert client.get(_change_url(product)).status_code == 200
    for _ in range(3):
        media_services.media_create_spin(product_id=product.id, files=frames(3))
    media_services.media_create_document(
        product_id=product.id, file=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(_change_url(product)).status_code == 200


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_merchandiser_adds_a_360_view_and_a_spec_sheet_in_the_browser(
    live_server: Any, page: Any, settings: Any
) -> None:
    from django.contrib.auth.models import Group

    from tests.browser import save_screenshot
    from tests.factories import UserFactory

    settings.CATALOG_SPIN_MIN_FRAMES = 3
    password = "a-long-demo-password"
    UserFactory(username="mara", password=password).groups.add(
        Group.objects.get(name="Merchandiser")
    )
    product = a_product()
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "mara")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")

    # a 360° view: the kind shows the frames input only, every frame chosen at once
    page.click("#media-group .add-row a")
    page.select_option("#id_media-0-kind", "spin")
    assert page.is_visible("#id_media-0-frames")
    assert not page.is_visible("#id_media-0-source_url")
    page.set_input_files(
        "#id_media-0-frames",
        files=[
            {"name": f"turn-{i}.png", "mimeType": "image/png", "buffer": png_bytes(color=c)}
            for i, c in ((3, "blue"), (1, "red"), (2, "green"))
        ],
    )
    page.fill("#id_media-0-alt_text", "All around")
    # a PDF spec sheet: the file input only
    page.click("#media-group .add-row a")
    page.select_option("#id_media-1-kind", "document")
    assert page.is_visible("#id_media-1-image")
    assert not page.is_visible("#id_media-1-frames")
    page.set_input_files(
        "#id_media-1-image",
        files=[{"name": "spec.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2)}],
    )
    page.fill("#id_media-1-alt_text", "Spec sheet")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    # then the page shows what each is
    media_text = page.inner_text("#media-group")
    assert "360° view, 3 frames" in media_text
    assert "PDF, 2 pages" in media_text
    # saved rows keep their files: they show no file, frames or URL input
    for row in (0, 1):
        for name in ("image", "frames", "source_url"):
            assert not page.is_visible(f"#id_media-{row}-{name}")
    save_screenshot(page, "catalog-media-kinds")
    spin = product.media.get(kind="spin")
    assert [frame.position for frame in spin.frames.order_by("position")] == [0, 1, 2]
    assert product.media.get(kind="document").page_count == 2
