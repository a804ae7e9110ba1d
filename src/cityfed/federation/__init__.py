"""The server side of ActivityPub on aiohttp: discovery, actors, inboxes, fetching and delivery."""
