from config.errors import DomainError


class UnknownEventType(DomainError):
    code = "unknown_event_type"
    status = 400
