"""Reports: the business's figures, read from rollup tables that the outbox keeps current.

Top layer, beside ``channels``, ``storefront`` and ``store``: the rollups combine orders,
inventory, customers and channels, so the lowest room that may read all of them is this one.
``models``: the rollup tables; ``facts``: what one order contributes; ``rollups``: the
incremental update from the outbox and the full rebuild; ``selectors``: every figure a page, the
dashboard or the API shows; ``filters``: the report filters and their errors; ``views``,
``dashboard``: the back-office pages; ``api``: the partner reporting API.
"""
