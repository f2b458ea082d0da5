from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """Partner-facing reads for webshop and app front-ends: products, availability, channels."""

    name = "storefront"
    verbose_name = "Storefront API"
