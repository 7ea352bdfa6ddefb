"""The one error translation raises: the client's request has a bad shape."""


class TranslationError(ValueError):
    """``field`` is the dotted path of the offending value (``messages.2.content.0``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
