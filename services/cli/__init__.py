"""The `veilsync` command line: the embedded stack, connections, jobs, runs and the demo."""
