"""The one exception type the SDK raises."""

from __future__ import annotations


class ClarionApiError(Exception):
    """A call failed: ``code`` is the Clarifai status code (or 98004 for transport failures).

    ``description`` is the short summary and ``details`` says what was wrong.
    """

    def __init__(self, code: int, description: str, details: str = "") -> None:
        super().__init__(f"[{code}] {description}" + (f": {details}" if details else ""))
        self.code = code
        self.description = description
        self.details = details
