"""Plain functions behind the Dagster assets (SQL on a DuckDB connection), reusable by benchmarks."""
