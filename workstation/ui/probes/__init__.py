"""The benchmark's start-up and call probes, run as processes; the app never imports them."""
