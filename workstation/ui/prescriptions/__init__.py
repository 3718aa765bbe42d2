"""E-prescribing: the Prescriptions pane and its presenter."""
