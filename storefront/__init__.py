"""The storefront read API: products, variants, availability and channels as a channel's
shoppers see them. Top layer: it composes catalog and inventory (see ``storefront.api.views``)."""
