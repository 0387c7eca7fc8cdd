"""Baselines served by the same server as the app: the ceiling (hello) and the floor (raw)."""
