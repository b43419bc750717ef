"""Gridshare: a self-hostable implementation of the Gridshare Customer API system."""

__version__ = "0.1.0"
