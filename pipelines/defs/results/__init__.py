"""CCEE delivery results (`resultados_notificacao`) and their hourly pull."""
