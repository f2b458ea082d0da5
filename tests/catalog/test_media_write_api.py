"""The media write API (issue 19, part 4): a product's media listed, added (a video URL as JSON;
an image, video, PDF or 360° view as multipart) and removed through the admin's media services,
with their refusal codes and the review workflow. Given/when/then; every refusal is checked to
have left no row and no file behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Product, ProductMedia, SpinFrame, Variant
from tests.catalog.factories import ProductFactory, complete_product, png_bytes
from tests.catalog.media_files import mp4_bytes, pdf_bytes, stored_files

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/catalog/products/"
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture(autouse=True)
def _fresh_storage(settings: Any) -> None:
    """An empty in-memory storage per test, so 'no file left behind' is exact."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    settings.CATALOG_SPIN_MIN_FRAMES = 3
    settings.CATALOG_SPIN_MAX_FRAMES = 6


def a_product() -> Product:
    return cast(Product, ProductFactory())


def _media_url(product: Product) -> str:
    return f"{PRODUCTS}{product.handle}/media/"


def _pdf(name: str = "Spec Sheet.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(pages=2) if data is None else data)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["type"] == f"urn:omnihub:problem:{code}"
    return body


def _approved(webshop: Any, merchandiser: Any, approver: Any) -> Product:
    product = complete_product(webshop)
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    return product


# --- video URLs (JSON) ---------------------------------------------------------------------------


def test_a_video_url_on_an_allowed_host_is_added_ready(api_client: APIClient) -> None:
    product = a_product()
    response = api_client.post(
        _media_url(product), {"kind": "video", "url": VIDEO, "alt_text": "Demo"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    media = ProductMedia.objects.get(product=product)
    assert response["Location"] == f"http://testserver{_media_url(product)}{media.id}/"
    assert body["id"] == media.id
    assert (body["kind"], body["status"], body["url"], body["alt_text"]) == (
        "video",
        "ready",
        VIDEO,
        "Demo",
    )
    assert body["video"] == {
        "provider": "youtube",
        "embed_url": "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "content_type": "",
        "size_bytes": None,
    }
    assert body["document"] is None and body["spin"] is None
    listed = api_client.get(_media_url(product))
    assert listed.status_code == 200
    assert listed.json() == [body]
    one = api_client.get(response["Location"])
    assert one.status_code == 200 and one.json() == body


def test_a_video_url_from_another_host_is_refused_and_nothing_is_stored(
    api_client: APIClient,
) -> None:
    product = a_product()
    response = api_client.post(
        _media_url(product),
        {"kind": "video", "url": "https://videos.example.com/clip.mp4"},
        format="json",
    )
    body = _problem(response, 400, "video_host_not_allowed")
    assert "videos.example.com" in body["detail"]
    assert not ProductMedia.objects.exists()


def test_an_unknown_field_or_kind_is_a_validation_error(api_client: APIClient) -> None:
    product = a_product()
    response = api_client.post(
        _media_url(product), {"kind": "document", "url": VIDEO, "title": "x"}, format="json"
    )
    body = _problem(response, 400, "validation_error")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("kind", "invalid_choice"),
        ("title", "unknown_field"),
    }
    assert not ProductMedia.objects.exists()


# --- uploads (multipart) -------------------------------------------------------------------------


def test_a_pdf_upload_is_stored_with_its_page_count(api_client: APIClient) -> None:
    product = a_product()
    response = api_client.post(
        _media_url(product),
        {"kind": "document", "file": _pdf(), "alt_text": "Spec sheet"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    media = ProductMedia.objects.get(product=product)
    assert (media.kind, media.page_count, media.alt_text) == ("document", 2, "Spec sheet")
    assert body["document"] == {
        "content_type": "application/pdf",
        "page_count": 2,
        "size_bytes": media.size_bytes,
    }
    assert body["url"] == f"http://testserver{default_storage.url(media.file.name)}"
    assert stored_files() == [media.file.name]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, not a PDF", "invalid_document"),
        (pdf_bytes(password="secret"), "document_encrypted"),
    ],
)
def test_a_document_that_is_not_a_readable_pdf_is_refused_and_nothing_is_stored(
    api_client: APIClient, data: bytes, code: str
) -> None:
    product = a_product()
    response = api_client.post(
        _media_url(product),
        {"kind": "document", "file": _pdf("manual.pdf", data)},
        format="multipart",
    )
    _problem(response, 400, code)
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_a_video_file_an_image_and_a_spin_are_uploaded(api_client: APIClient) -> None:
    product = a_product()
    url = _media_url(product)
    video = api_client.post(
        url, {"kind": "video", "file": SimpleUploadedFile("clip.mp4", mp4_bytes())}, "multipart"
    )
    image = api_client.post(
        url,
        {"kind": "image", "file": SimpleUploadedFile("a.png", png_bytes(size=(50, 40)))},
        "multipart",
    )
    frames = [
        SimpleUploadedFile(f"frame-{i}.png", png_bytes(size=(40, 30), color=color))
        for i, color in enumerate(["red", "green", "blue"])
    ]
    spin = api_client.post(url, {"kind": "spin", "frames": frames}, "multipart")
    assert [r.status_code for r in (video, image, spin)] == [201, 201, 201]
    assert video.json()["video"]["content_type"] == "video/mp4"
    assert (image.json()["kind"], image.json()["width"], image.json()["height"]) == (
        "image",
        50,
        40,
    )
    assert spin.json()["spin"]["frame_count"] == 3
    assert [m.kind for m in ProductMedia.objects.filter(product=product)] == [
        "video",
        "image",
        "spin",
    ]
    assert SpinFrame.objects.count() == 3


def test_an_upload_without_its_file_is_a_validation_error(api_client: APIClient) -> None:
    product = a_product()
    response = api_client.post(_media_url(product), {"kind": "document"}, format="multipart")
    body = _problem(response, 400, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("file", "required")]
    assert not ProductMedia.objects.exists()


# --- variants, review, unknown products, scopes ---------------------------------------------------


def test_a_media_shows_a_variant_by_its_sku(api_client: APIClient) -> None:
    product = a_product()
    variant = Variant.objects.create(product=product, sku="TEE-S")
    other = Variant.objects.create(product=a_product(), sku="OTHER-S")
    url = _media_url(product)
    response = api_client.post(
        url, {"kind": "video", "url": VIDEO, "variant": variant.sku}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["variant_id"] == variant.id
    unknown = api_client.post(
        url, {"kind": "video", "url": "https://vimeo.com/76979871", "variant": "NOPE"}, "json"
    )
    body = _problem(unknown, 400, "validation_error")
    assert body["errors"][0]["field"] == "variant"
    assert body["errors"][0]["code"] == "does_not_exist"
    foreign = api_client.post(
        url, {"kind": "video", "url": "https://vimeo.com/76979871", "variant": other.sku}, "json"
    )
    _problem(foreign, 400, "variant_not_of_product")
    assert ProductMedia.objects.count() == 1


def test_adding_or_removing_media_sends_an_approved_product_back_to_review(
    api_client: APIClient,
    webshop: Any,
    merchandiser: Any,
    approver: Any,
) -> None:
    product = _approved(webshop, merchandiser, approver)
    response = api_client.post(
        _media_url(product), {"kind": "document", "file": _pdf()}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    # the channels keep the approved version, without the document
    assert [m["kind"] for m in (product.approved_snapshot or {})["media_all"]] == ["image"]

    services.product_approve(product_ids=[product.id], user=approver)
    deleted = api_client.delete(f"{_media_url(product)}{response.json()['id']}/")
    assert deleted.status_code == 204
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW


def test_delete_removes_the_media_and_its_file(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    product = a_product()
    created = api_client.post(
        _media_url(product), {"kind": "document", "file": _pdf()}, format="multipart"
    )
    assert stored_files() != []
    location = created["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(location)
    assert response.status_code == 204
    assert not ProductMedia.objects.exists()
    assert stored_files() == []
    _problem(api_client.delete(location), 404, "not_found")
    _problem(api_client.get(location), 404, "not_found")


def test_a_media_of_another_product_is_404(api_client: APIClient) -> None:
    product, other = a_product(), a_product()
    created = api_client.post(_media_url(product), {"kind": "video", "url": VIDEO}, "json")
    response = api_client.delete(f"{_media_url(other)}{created.json()['id']}/")
    _problem(response, 404, "not_found")
    assert ProductMedia.objects.count() == 1


def test_an_unknown_product_is_404(api_client: APIClient) -> None:
    for response in (
        api_client.get(f"{PRODUCTS}no-such-thing/media/"),
        api_client.post(f"{PRODUCTS}no-such-thing/media/", {"kind": "video", "url": VIDEO}, "json"),
        api_client.delete(f"{PRODUCTS}no-such-thing/media/1/"),
    ):
        _problem(response, 404, "not_found")
    assert not ProductMedia.objects.exists()


def test_media_writes_need_catalog_write(api_client_for: Callable[..., APIClient]) -> None:
    product = a_product()
    reader = api_client_for(scopes=["catalog:read"])
    _problem(reader.get(_media_url(product)), 403, "missing_scope")
    refused = reader.post(
        _media_url(product), {"kind": "document", "file": _pdf()}, format="multipart"
    )
    _problem(refused, 403, "missing_scope")
    assert not ProductMedia.objects.exists()
    assert stored_files() == []


def test_a_staff_member_needs_the_media_permission(db: Any) -> None:
    from django.contrib.auth.models import User

    product = a_product()
    nobody = User.objects.create_user("nobody", password="x", is_staff=True)
    session = APIClient()
    session.force_login(nobody)
    response = session.post(_media_url(product), {"kind": "video", "url": VIDEO}, format="json")
    assert response.status_code == 403, response.content
    assert not ProductMedia.objects.exists()


def test_a_retried_upload_with_the_same_idempotency_key_adds_it_once(
    api_client: APIClient,
) -> None:
    product = a_product()
    headers = {"HTTP_IDEMPOTENCY_KEY": "pim-7"}
    first = api_client.post(
        _media_url(product), {"kind": "document", "file": _pdf()}, "multipart", **headers
    )
    again = api_client.post(
        _media_url(product), {"kind": "document", "file": _pdf()}, "multipart", **headers
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ProductMedia.objects.count() == 1
    other = api_client.post(
        _media_url(product), {"kind": "document", "file": _pdf("other.pdf")}, "multipart", **headers
    )
    _problem(other, 422, "idempotency_key_reused")
    assert ProductMedia.objects.count() == 1


def test_an_image_url_is_recorded_pending_and_its_fetch_queued(
    api_client: APIClient, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    queued: list[int] = []
    monkeypatch.setattr("catalog.media._fetch_enqueue", queued.append)
    product = a_product()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            _media_url(product), {"kind": "image", "url": "https://cdn.example.com/a.jpg"}, "json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["url"], body["error"]) == (
        "image",
        "pending",
        None,
        "",
    )
    assert queued == [body["id"]]
