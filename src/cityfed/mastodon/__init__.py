"""The Mastodon client API face (DESIGN §2, §8): entities, anonymous reading, streaming.

Mastodon apps (Tusky, Ivory, Elk, Mastodon.py, megalodon) read a city through ``/api/v1`` and
``/api/v2``; this package answers them over models/ (queries) and actions/ (changes), like the
other faces, and imports neither ``cityfed.api`` nor ``cityfed.web``.
"""
