"""Every Qt widget and dialog, and the bridge to the asyncio thread."""
