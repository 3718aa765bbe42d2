"""Training mode: a separate database with simulated patients and appointments."""
