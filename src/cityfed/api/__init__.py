"""The JSON REST API for city staff and admins under /api/cityfed/v1 (bearer tokens, §8)."""
