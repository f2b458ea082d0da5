"""Periodic loyalty housekeeping: thin Celery tasks over services."""

from __future__ import annotations

from celery import shared_task

from customers import services


@shared_task(name="customers.loyalty_points_expire")
def loyalty_points_expire() -> int:
    """Expire loyalty lots older than ``LOYALTY_POINTS_EXPIRE_DAYS``; daily."""
    return services.loyalty_points_expire()
