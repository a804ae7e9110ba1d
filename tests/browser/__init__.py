"""End-to-end tests in a real headless Chromium (skipped when none is installed)."""
