"""`python -m app.cli`."""

from app.cli.main import run

if __name__ == "__main__":  # an engine process started by spawn imports this module too
    run()
