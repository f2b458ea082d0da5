"""Product information: categories, product types and typed attributes, products and variants,
media, channel prices and channel content, publication on channels, approval snapshots.

Channel-visible data is what was approved: ``Product.approved_snapshot`` is the version the channels
see; editing an approved product puts it back in review while the snapshot stays live.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from core.models.mixins import SyncTimestamped, Timestamped
from core.models.tax import tax_class_standard_id


class Category(MP_Node):
    """A node of the category tree, usually imported from the Google product taxonomy.

    ``google_id`` is kept so that feeds can send ``google_product_category`` as Google's own id.
    """

    name = models.CharField(max_length=200)
    full_name = models.CharField(
        max_length=1000, help_text="The whole path, e.g. 'Apparel & Accessories > Clothing'."
    )
    google_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["full_name"]), models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.full_name


def gtin_is_valid(value: str) -> bool:
    """GTIN-8/12/13/14 with a correct GS1 check digit."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    digits = [int(char) for char in value]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_gtin(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not gtin_is_valid(value):
        raise ValidationError(
            "Enter a GTIN-8, -12, -13 or -14 with a correct check digit.", code="invalid_gtin"
        )


class SkuValidator(RegexValidator):
    """A SKU is part of URLs (``/api/v1/catalog/variants/{sku}/``, ``/prices/{channel}/{sku}/``):
    no ``/``, no control characters, and not ``.`` or ``..`` (which clients resolve away). The
    pattern is anchored with ``\\A``/``\\Z`` so the API schema states it too (as ``^``/``$``)."""

    regex = r"\A(?!\.{1,2}\Z)[^/\x00-\x1f\x7f-\x9f]+\Z"
    message = (
        "A SKU may not contain “/” or control characters, nor be “.” or “..”: it is part of URLs."
    )
    code = "invalid"


class Attribute(Timestamped):
    """A typed property of products or variants (colour, material, screen size...)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        RICH_TEXT = "rich_text", "Rich text"
        NUMBER = "number", "Number with unit"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        SELECT = "select", "Single select"
        MULTI_SELECT = "multi_select", "Multi select"

    code = models.SlugField(max_length=64, unique=True, help_text="Stable key, e.g. 'color'.")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    unit = models.CharField(max_length=20, blank=True, help_text="For numbers, e.g. 'cm' or 'kg'.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="number") | models.Q(unit=""),
                name="attribute_unit_only_for_numbers",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


class AttributeOption(models.Model):
    """A managed value of a single or multi select attribute."""

    attribute = models.ForeignKey(Attribute, on_delete=models.CASCADE, related_name="options")
    code = models.SlugField(max_length=64)
    label = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attribute_id", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["attribute", "code"], name="attribute_option_unique")
        ]

    def __str__(self) -> str:
        return self.label


class ProductType(Timestamped):
    """A family: which attributes its products and variants carry, and which are variant axes."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    attributes = models.ManyToManyField(
        Attribute, through="ProductTypeAttribute", related_name="product_types", blank=True
    )
    tax_class = models.ForeignKey(
        "core.TaxClass",
        on_delete=models.PROTECT,
        default=tax_class_standard_id,
        null=True,  # expand first: rows the previous release inserts have none (= standard)
        related_name="+",
        help_text="Which of each country's VAT rates its products carry (empty: standard).",
    )
    is_gift_card = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Its products are gift cards: no stock; each unit sold issues a card.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductTypeAttribute(models.Model):
    """An attribute of a product type: on the product or per variant, axis or not, and the
    channels on which a product is incomplete without it."""

    class Level(models.TextChoices):
        PRODUCT = "product", "Product"
        VARIANT = "variant", "Variant"

    product_type = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="type_attributes"
    )
    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.PRODUCT)
    is_variant_axis = models.BooleanField(
        default=False, help_text="Variants differ by this attribute (size, colour...)."
    )
    required_for = models.ManyToManyField(
        "core.Channel",
        blank=True,
        related_name="+",
        help_text="Channels on which a product is incomplete without a value.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product_type_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_type", "attribute"], name="product_type_attribute_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(is_variant_axis=False) | models.Q(level="variant"),
                name="variant_axis_is_variant_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_type}: {self.attribute}"


class Product(SyncTimestamped):
    """A style: what a shopper thinks of as one product, sold in one or more variants."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        ARCHIVED = "archived", "Archived"

    handle = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=100, blank=True, db_index=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", null=True, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    product_type = models.ForeignKey(
        ProductType, on_delete=models.PROTECT, related_name="products", null=True, blank=True
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Product-level attribute values by attribute code."
    )
    approved_snapshot = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The approved version: what channels show until a newer version is approved.",
    )
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    history = HistoricalRecords(excluded_fields=["approved_snapshot", "updated_at"])

    class Meta:
        # An expression, not "name": django-modeltranslation rewrites a default ordering by
        # field name to the active language's column (name_en), which would order through
        # another index than the one the search queries plan with; the original column holds
        # the same English text (catalog/translation.py).
        ordering = [models.F("name").asc(), "id"]
        permissions = [
            ("approve_product", "Can approve products"),
            ("publish_product", "Can publish products to channels"),
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["name", "id"], name="catalog_product_name_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(SyncTimestamped):
    """A SKU: one purchasable option combination of a product (e.g. size 10, colour navy)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True, validators=[SkuValidator()])
    gtin = models.CharField(
        max_length=14,
        blank=True,
        validators=[validate_gtin],
        db_index=True,
        help_text="Barcode: GTIN-8/12/13/14 with a valid check digit.",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text='Option values, e.g. {"size": "10", "color": "Navy"}.'
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Variant-level attribute values by attribute code."
    )
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    cost_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What one unit costs us, in the base currency (settings.BASE_CURRENCY); "
        "empty when unknown. Snapshotted on each order line for margins.",
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "options"], name="variant_options_unique_per_product"
            ),
            models.CheckConstraint(
                condition=models.Q(cost_price__isnull=True) | models.Q(cost_price__gte=0),
                name="catalog_variant_cost_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.sku


def media_upload_to(instance: ProductMedia, filename: str) -> str:
    return f"products/{instance.product_id}/{filename}"


class ProductMedia(Timestamped):
    """A picture, video, 360° view or PDF document of a product, or of one variant.

    ``kind`` says which. Images are uploaded or fetched from ``source_url``, stored only after
    Pillow validated them and EXIF was stripped; renditions are made by a Celery task. A video is
    an MP4/WebM ``file`` or a ``source_url`` on an allowed host (``provider``); a document is a PDF
    ``file`` with its ``page_count``; a 360° view is its ordered ``frames`` (``SpinFrame``). Every
    check lives in ``catalog.media``; ``size_bytes`` and ``content_type`` describe ``file``."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        SPIN = "spin", "360° view"
        DOCUMENT = "document", "Document (PDF)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not fetched yet)"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="media")
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="media", null=True, blank=True
    )
    image = models.ImageField(
        upload_to=media_upload_to, blank=True, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    source_url = models.URLField(max_length=1000, blank=True)
    alt_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    renditions = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Rendition name -> storage path."
    )
    # Media kinds (catalog 0011): database defaults, so rows written by older code are images.
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.IMAGE, db_default=Kind.IMAGE
    )
    file = models.FileField(
        upload_to=media_upload_to,
        max_length=255,
        blank=True,
        default="",
        db_default="",
        help_text="The video (MP4, WebM) or document (PDF) file.",
    )
    content_type = models.CharField(
        max_length=40, blank=True, default="", db_default="", editable=False
    )
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    page_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    provider = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text="Where a video URL plays: youtube, vimeo, or the allowed host's name.",
    )
    history = HistoricalRecords(excluded_fields=["updated_at", "renditions"])

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name_plural = "product media"
        indexes = [models.Index(fields=["product", "status"])]

    def __str__(self) -> str:
        return (
            self.alt_text
            or self.source_url
            or str(self.image.name or self.file.name or f"#{self.pk}")
        )


def spin_frame_upload_to(instance: SpinFrame, filename: str) -> str:
    return f"products/{instance.media.product_id}/spins/{filename}"


class SpinFrame(models.Model):
    """One frame of a 360° view (``ProductMedia`` of kind spin), in turning order. Checked and
    cleaned like an uploaded image, with the same renditions. Frames are written once, with their
    spin, and go with it; the spin's own history records when it was added or removed."""

    media = models.ForeignKey(ProductMedia, on_delete=models.CASCADE, related_name="frames")
    position = models.PositiveIntegerField()
    image = models.ImageField(upload_to=spin_frame_upload_to, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    renditions = models.JSONField(
        default=dict, blank=True, help_text="Rendition name -> storage path."
    )

    class Meta:
        ordering = ["media_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["media", "position"], name="catalog_spinframe_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.media_id} frame {self.position}"


class Price(SyncTimestamped):
    """A variant's price on a channel in a currency. Without dates it is the base price; with
    ``starts_at``/``ends_at`` it is a promotion that wins over the base price while it runs."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="prices")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    compare_at_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="The 'was' price."
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["variant_id", "channel_id", "starts_at"]
        indexes = [models.Index(fields=["channel", "variant"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=Decimal("0")), name="price_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(compare_at_amount__isnull=True)
                | models.Q(compare_at_amount__gt=models.F("amount")),
                name="price_compare_at_above_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="price_window_ordered",
            ),
            models.UniqueConstraint(
                fields=["variant", "channel", "currency"],
                condition=models.Q(starts_at__isnull=True, ends_at__isnull=True),
                name="price_one_base_per_channel_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class ChannelContentRule(models.Model):
    """How a channel titles products: a template such as ``{brand} {name} {color} {size}`` and
    the channel's length limits, enforced when the channel view is built and at approval."""

    channel = models.OneToOneField(
        "core.Channel", on_delete=models.CASCADE, related_name="content_rule"
    )
    title_template = models.CharField(
        max_length=200,
        blank=True,
        help_text="Placeholders: {name}, {brand}, {category} and attribute codes such as {color}.",
    )
    title_max_length = models.PositiveIntegerField(default=150)
    description_max_length = models.PositiveIntegerField(default=5000)

    def __str__(self) -> str:
        return f"content rule for channel {self.channel_id}"


class ChannelContent(models.Model):
    """Per-channel overrides of a product's title and description."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="channel_content")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "channel"], name="channel_content_unique")
        ]
        verbose_name_plural = "channel content"

    def __str__(self) -> str:
        return f"{self.product_id} on {self.channel_id}"


class ProductPublication(models.Model):
    """A product published on a channel: allowed only when approved and 100 % complete there."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="publications")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(
        auto_now=True,
        db_index=True,
        help_text="Last change the channel can see (approval, price, publication): updated_since.",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "channel"], name="publication_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} on {self.channel_id}"


class ProductCompleteness(models.Model):
    """Completeness of a product for a channel, recomputed in bulk by the catalog services
    whenever what it depends on changes (so the admin can filter and sort on it)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="completeness")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    percent = models.PositiveSmallIntegerField()
    missing = models.JSONField(default=list, blank=True)
    locales = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text="Per language the channel sells in: {language: {percent, missing}}; the "
        "channel's percent counts every language.",
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "channel"], name="completeness_unique"),
            models.CheckConstraint(
                condition=models.Q(percent__lte=100), name="completeness_percent_range"
            ),
        ]
        indexes = [models.Index(fields=["channel", "percent"])]
        verbose_name_plural = "product completeness"

    def __str__(self) -> str:
        return f"{self.product_id} on {self.channel_id}: {self.percent} %"


class ImportJob(models.Model):
    """A product import run in the background, with progress and per-row errors for the admin."""

    class Format(models.TextChoices):
        SHOPIFY = "shopify", "Shopify product CSV"
        NATIVE = "native", "OmniHub CSV/XLSX"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (nothing imported)"

    format = models.CharField(max_length=10, choices=Format.choices)
    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} import #{self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0


class BulkEditJob(models.Model):
    """A bulk edit of a selection of products or variants (``catalog.bulk_edit``), with one
    ``BulkEditJobRow`` per row of the selection: up to ``CATALOG_BULK_EDIT_INLINE_MAX`` rows it runs
    in the request, beyond that as a Celery task, in batches. Each row succeeds or fails on its
    own; the counters are the progress the admin shows."""

    class Action(models.TextChoices):
        SET_ATTRIBUTE = "set_attribute", "Set an attribute"
        PRICE_CHANGE = "price_change", "Change prices"
        PRICE_SCHEDULE = "price_schedule", "Schedule a price"
        SUBMIT = "submit", "Submit for review"
        APPROVE = "approve", "Approve"
        PUBLISH = "publish", "Publish"
        UNPUBLISH = "unpublish", "Unpublish"

    class Target(models.TextChoices):
        PRODUCT = "product", "Products"
        VARIANT = "variant", "Variants"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        PARTIAL = "partial", "Done, some rows failed"
        FAILED = "failed", "Stopped"

    action = models.CharField(max_length=20, choices=Action.choices)
    target = models.CharField(
        max_length=10, choices=Target.choices, help_text="What each row of the job is."
    )
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Rows changed or already as asked.")
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole job stopped, if it did.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk} ({self.get_status_display().lower()})"

    @property
    def progress_percent(self) -> int:
        return int((self.done + self.failed) * 100 / self.total) if self.total else 100


class BulkEditJobRow(models.Model):
    """One product or variant of a bulk edit: its outcome, and its values before and after (the
    history that lets a change be checked or undone row by row)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CHANGED = "changed", "Changed"
        UNCHANGED = "unchanged", "Already so"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(BulkEditJob, on_delete=models.CASCADE, related_name="rows")
    object_id = models.PositiveBigIntegerField(help_text="The product or variant (job.target).")
    label = models.CharField(max_length=255, blank=True, help_text="SKU or product name.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["job_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "object_id"], name="bulk_edit_row_unique")
        ]
        indexes = [models.Index(fields=["job", "status", "id"], name="bulk_edit_row_job_status")]

    def __str__(self) -> str:
        return f"{self.label or self.object_id}: {self.status}"
