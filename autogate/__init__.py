"""The ``autogate`` command line: one entry point, one module per subcommand group."""

__version__ = "0.1.0"
