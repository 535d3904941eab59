"""aiohttp: the listener server, the Compass REST client and the Compass-like sender (no Qt)."""
