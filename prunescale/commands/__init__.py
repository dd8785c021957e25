"""The subcommands of ``prunescale``, one module per package."""
