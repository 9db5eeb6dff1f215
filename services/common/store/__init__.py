"""The metadata store: accounts, connections, jobs and runs, with secrets encrypted."""
