"""End-to-end journeys of ``shared/PRODUCT.md``, one module per journey (``docs/journeys.md``)."""
