"""`tandem-cli`: parse, call the services, print."""

from app.cli.main import main, run

__all__ = ["main", "run"]
