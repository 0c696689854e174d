"""Dagster code location that syncs the analytics API into a warehouse with dlt."""

from analytics_assets.definitions import defs

__all__ = ["defs"]
