"""One module per activity type; each turns a verified activity into model changes (§10.9)."""
