"""Lake → `notificacoes`, `metadados`, `quarentena`; the lake sensor; the daily compaction."""
