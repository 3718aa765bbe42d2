"""What the bench hands its probe processes (``ui/startup_probe.py``, ``ui/call_probe.py``)."""

TOKEN_ENV = "WORKSTATION_BENCH_REFRESH_TOKEN"  # a remembered sign-in to the bench's hub
FOLDER_ENV = "WORKSTATION_BENCH_FOLDER"  # the run's folder, made and removed by the bench
