"""The visit hub: patient pages, JSON API, queue push and signaling relay (aiohttp)."""
