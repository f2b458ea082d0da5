"""Event types partners can subscribe to (defined with the outbox, where every app records them)."""

from core.events import EventType

__all__ = ["EventType"]
