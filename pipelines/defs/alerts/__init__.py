"""Alerts: the sensor that evaluates the alert rules and delivers alerts to the channels."""
