"""`python -m services.cli` is the `veilsync` command."""

from services.cli.main import main

main()
