"""The version of the client distribution (read by its pyproject.toml and the User-Agent)."""

__version__ = "0.1.0"
