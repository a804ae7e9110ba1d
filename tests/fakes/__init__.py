"""Fakes of other fediverse software, for tests that must not trust our own code to judge us."""
