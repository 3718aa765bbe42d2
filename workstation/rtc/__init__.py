"""WebRTC peer sessions with aiortc (video issue)."""
