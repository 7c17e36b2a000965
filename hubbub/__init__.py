"""hubbub: a multi-user chat server speaking IRC, with a plain text mode for netcat users."""

__version__ = "0.1.0"
