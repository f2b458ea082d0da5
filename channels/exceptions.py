from core.errors import DomainError


class UnknownEventType(DomainError):
    code = "unknown_event_type"
    status = 400


class PosCursorOutOfRange(DomainError):
    """A POS cursor beyond the latest change event: it was never handed out by this server."""

    code = "cursor_out_of_range"
    status = 422
    title = "Cursor beyond the latest change"
