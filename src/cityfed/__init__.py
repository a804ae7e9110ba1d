"""cityfed: a federation server for cities to publish, discuss and adopt each other's projects."""

__version__ = "0.1.0"
