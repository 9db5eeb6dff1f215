"""Pure proto <-> domain mapping functions, tested without a server."""
