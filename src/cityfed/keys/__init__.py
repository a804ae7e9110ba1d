"""Key pairs of our actors (generated, loaded once per process, rotated) and remote key caching."""
