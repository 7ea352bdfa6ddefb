"""The one error the request translation raises: the client's request has a bad shape."""


class TranslationError(Exception):
    """A request the translation cannot map; ``field`` is the dotted path of the bad value.

    The view turns it into a 400 ``invalid_request_error`` naming the field, so the
    message must describe the client's input only (never upstream or key details).
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
