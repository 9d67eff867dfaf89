"""`ccee-webhook demo`: the whole product end to end on one machine (see command.py)."""

__all__: list[str] = []
