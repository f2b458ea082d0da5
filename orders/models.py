"""Orders, fulfilments and returns (see docs/orders.md). Models arrive with the orders issue."""
