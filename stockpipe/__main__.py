"""`python -m stockpipe` is the same as the `stockpipe` command."""

from stockpipe.cli import app

app()
