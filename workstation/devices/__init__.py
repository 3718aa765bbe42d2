"""Camera, microphone and speaker, and synthetic sources for tests, benchmarks and the demo.

Light on purpose: the GUI names device choices without loading PortAudio or PyAV.
"""

SYNTHETIC = "synthetic"  # the choice of the test pattern and tone instead of a device
