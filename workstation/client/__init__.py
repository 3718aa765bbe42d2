"""The provider's client of the visit hub (asyncio, no Qt)."""
