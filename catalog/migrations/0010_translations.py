"""Translations (django-modeltranslation, ``catalog/translation.py``): a column per content
language (``settings.LANGUAGES``: en, nl, de, fr) beside each translated field of products
(name, description), channel content (title, description), attribute options (label) and
categories (name), on the history rows of products and channel content too, and the
``(name_<language>, id)`` indexes that modeltranslation derives from ``catalog_product_name_id``
for ordering by name (its queries order by the English column).

The English columns are filled from the original columns (which keep holding English: search,
its indexes, snapshots and imports read them), in batches of primary keys so a large catalog is
never held in memory or rewritten in one statement per row; the other languages start empty and
fall back to the channel's language, then English. Reversing empties the English columns again
(the columns themselves are then dropped by the reversed AddField operations).
"""

from django.db import migrations, models

BATCH = 5000

# model name -> translated fields
TRANSLATED = {
    "Product": ("name", "description"),
    "ChannelContent": ("title", "description"),
    "AttributeOption": ("label",),
    "Category": ("name",),
    # their history rows too, so the first edit after the upgrade shows no change of English
    "HistoricalProduct": ("name", "description"),
    "HistoricalChannelContent": ("title", "description"),
}


def _batches(model):
    """Primary-key ranges of at most BATCH rows, read as a keyset (no OFFSET)."""
    last = 0
    while True:
        ids = list(
            model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return
        yield ids[0], ids[-1]
        last = ids[-1]


def default_language_fill(apps, schema_editor):
    for name, fields in TRANSLATED.items():
        model = apps.get_model("catalog", name)
        copy = {f"{field}_en": models.F(field) for field in fields}
        for first, last in _batches(model):
            model.objects.filter(pk__gte=first, pk__lte=last).update(**copy)


def default_language_clear(apps, schema_editor):
    for name, fields in TRANSLATED.items():
        model = apps.get_model("catalog", name)
        for first, last in _batches(model):
            model.objects.filter(pk__gte=first, pk__lte=last).update(
                **{f"{field}_en": None for field in fields}
            )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_search_indexes")]

    operations = [
        # ordering by the original column as an expression, which modeltranslation leaves alone
        migrations.AlterModelOptions(
            name="product",
            options={
                "ordering": [models.OrderBy(models.F("name")), "id"],
                "permissions": [
                    ("approve_product", "Can approve products"),
                    ("publish_product", "Can publish products to channels"),
                ],
            },
        ),
        migrations.AddField(
            model_name="attributeoption",
            name="label_de",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="attributeoption",
            name="label_en",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="attributeoption",
            name="label_fr",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="attributeoption",
            name="label_nl",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="category",
            name="name_de",
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="category",
            name="name_en",
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="category",
            name="name_fr",
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="category",
            name="name_nl",
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="description_de",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="description_en",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="description_fr",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="description_nl",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="title_de",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="title_en",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="title_fr",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="channelcontent",
            name="title_nl",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="description_de",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="description_en",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="description_fr",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="description_nl",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="name_de",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="name_en",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="name_fr",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="name_nl",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="description_de",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="description_en",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="description_fr",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="description_nl",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="title_de",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="title_en",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="title_fr",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalchannelcontent",
            name="title_nl",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="description_de",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="description_en",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="description_fr",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="description_nl",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="name_de",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="name_en",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="name_fr",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="name_nl",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="productcompleteness",
            name="locales",
            field=models.JSONField(
                blank=True,
                db_default=models.Value({}, output_field=models.JSONField()),
                default=dict,
                help_text="Per language the channel sells in: {language: {percent, missing}}; "
                "the channel's percent counts every language.",
            ),
        ),
        migrations.RunPython(default_language_fill, default_language_clear, elidable=False),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["name_en", "id"], name="catalog_product_name_id-en"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["name_nl", "id"], name="catalog_product_name_id-nl"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["name_de", "id"], name="catalog_product_name_id-de"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["name_fr", "id"], name="catalog_product_name_id-fr"),
        ),
    ]
