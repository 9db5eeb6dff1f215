"""MySQL and MariaDB: the connector (LOAD DATA or multi-row INSERT), catalog, DDL, types, grants
and the text forms of values."""
