"""Looking at a database without copying it: PII detection and mapping suggestions,
reachability and the privileges a role holds."""
