"""PostgreSQL: the connector (COPY in and out), its catalog reader and DDL."""
