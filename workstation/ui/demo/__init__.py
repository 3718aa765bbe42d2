"""The demo for trainers: the Demo menu over the running demo."""
