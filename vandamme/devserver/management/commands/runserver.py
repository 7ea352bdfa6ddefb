"""daphne's ``runserver``: imported (with Twisted) only when the command runs."""

from daphne.management.commands.runserver import Command

__all__ = ["Command"]
