"""Scheduled work, run by the one `clock` process (never one scheduler per web worker)."""
