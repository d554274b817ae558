"""History queries: the same Trino SQL on Athena (AWS) or DuckDB (local)."""
