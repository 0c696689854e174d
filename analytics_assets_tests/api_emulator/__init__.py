"""A local emulator of the analytics API, used by the tests, the demo and the benchmark."""

from analytics_assets_tests.api_emulator.data import EmulatorData, day, generate_data
from analytics_assets_tests.api_emulator.server import ApiEmulator, RecordedRequest

__all__ = ["ApiEmulator", "EmulatorData", "RecordedRequest", "day", "generate_data"]
