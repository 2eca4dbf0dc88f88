"""Helpers shared by tests (importable as ``support`` or ``tests.support``)."""
