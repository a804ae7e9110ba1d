"""HTTP helpers that several faces share (JSON/ActivityStreams responses, content negotiation).

Neutral ground (DESIGN §2): federation routes, web pages and the API import these and not each
other. Nothing of ours but the standard library and aiohttp is imported here.
"""
