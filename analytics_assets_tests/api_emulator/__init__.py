"""A local emulator of the analytics API, used by the tests, the demo and the benchmark."""

from analytics_assets_tests.api_emulator.data import EmulatorData, day, generate_data
from analytics_assets_tests.api_emulator.faults import Fault, FaultPlan
from analytics_assets_tests.api_emulator.server import ApiEmulator, RecordedRequest

__all__ = [
    "ApiEmulator",
    "EmulatorData",
    "Fault",
    "FaultPlan",
    "RecordedRequest",
    "day",
    "generate_data",
]
