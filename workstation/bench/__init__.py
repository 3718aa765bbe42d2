"""``workstation bench``: measurements side by side with their baselines, same run, same machine."""
