"""Tests, the API emulator and the demo of analytics_assets."""
