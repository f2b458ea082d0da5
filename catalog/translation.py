"""Which catalog fields are written per language (django-modeltranslation).

Each field listed here gets one column per language of ``settings.LANGUAGES`` beside the
original (``name_en``, ``name_nl``, ``name_de``, ``name_fr`` beside ``name``). The original
column keeps the default language (English): search, its PostgreSQL expression indexes,
approval snapshots and imports go on reading it. ``catalog/locales.py`` reads a language's
column explicitly (with the fallback chain); nothing in the catalog relies on the thread's
active language, which stays English in requests and tasks (there is no ``LocaleMiddleware``).

Variants have no name of their own: a variant is shown as its product's name and its option
values, and the option values' labels (``AttributeOption.label``) are translated here.

The history models of products and channel content (django-simple-history) get the same
columns, so the *History* page shows who changed which language, and a history row can be
written at all: simple-history copies every field of the saved row into it.
"""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from catalog.models import AttributeOption, Category, ChannelContent, Product


@register(Product)
class ProductTranslationOptions(TranslationOptions):
    fields = ("name", "description")


@register(ChannelContent)
class ChannelContentTranslationOptions(TranslationOptions):
    fields = ("title", "description")


@register(Product.history.model)  # type: ignore[attr-defined]
class HistoricalProductTranslationOptions(TranslationOptions):
    fields = ("name", "description")


@register(ChannelContent.history.model)  # type: ignore[attr-defined]
class HistoricalChannelContentTranslationOptions(TranslationOptions):
    fields = ("title", "description")


@register(AttributeOption)
class AttributeOptionTranslationOptions(TranslationOptions):
    fields = ("label",)


@register(Category)
class CategoryTranslationOptions(TranslationOptions):
    fields = ("name",)
