"""Camera, microphone and speaker, and synthetic sources (video issue)."""
