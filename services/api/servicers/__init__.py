"""Thin servicers: unpack the request, call the domain, build the response."""
