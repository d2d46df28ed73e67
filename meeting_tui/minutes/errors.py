"""Why minutes cannot be made (the message says why and the fix; nothing was written)."""


class MinutesError(Exception):
    """Minutes cannot be made; the message says why and the fix. Nothing was written."""


class Cancelled(MinutesError):
    """The user cancelled the run; nothing was written."""
