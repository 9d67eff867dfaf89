"""Delivery SLA (`sla_entrega`) and the data-loss alarm."""
