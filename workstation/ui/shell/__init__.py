"""The main window and what composes the features: session presenter, lock, feature wiring."""
