"""SQLite: the connector and the file access that stands in for privileges."""
