"""Customers, identifiers, consents and loyalty (see docs/customers.md). Models arrive with the
customers issue."""
