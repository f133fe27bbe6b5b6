"""Command-line interface: ``depth-completion <subcommand>``."""
