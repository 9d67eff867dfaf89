"""Plain functions behind the Dagster assets (SQL on DuckDB), reused by the benchmarks."""
