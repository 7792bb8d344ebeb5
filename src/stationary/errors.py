"""One error type for bad input, so the CLI can print one clear line and exit 2."""

from __future__ import annotations


class StationaryError(ValueError):
    """Bad input: names what is wrong, where (file, field) and, where possible, what would be valid."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.file = file
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = (": ".join(where) + ": ") if where else ""
        return prefix + self.message
