"""The ``heecon`` command line: one module per command group, thin commands over the library."""

from heecon.cli.app import app, main

__all__ = ["app", "main"]
