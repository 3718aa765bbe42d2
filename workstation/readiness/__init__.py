"""The readiness check IT runs after installing a provider's workstation (``workstation check``).

Each check passes, warns or fails; what is not a pass says what to do. The PC is ready when no
*required* check fails (exit code 0), else not (exit code 1). A check that crashes or hangs is a
failure of that check alone: the others still run.

Required, because a video visit cannot happen without it on a provider's PC:

- **Screen**: Qt starts, on a real display, with a screen of at least 1366×768 (smaller, or
  Qt's offscreen platform, is a warning; no display, or Qt unable to start, fails).
- **Camera**, **Microphone**, **Speaker**: the patient must see and hear the provider and be
  heard. A PC without a camera fails, even though a call could go on with audio only: a
  provider's workstation is expected to have one.
- **Hub**: the clinic hub answers over TLS with a certificate this PC trusts (plain http is a
  failure, or a warning when the hub is on this PC). With no hub set, the embedded hub is used
  and there is nothing to reach.
- **STUN/TURN**, required only when the site sets servers: the site relies on them, so one that
  does not answer fails. With none set, a warning (calls work on the local network only).
- **Keyring**: the database key lives there; it must write, read back and delete a secret.
- **Database**: an encrypted scratch database in the data folder is written, read back, found
  unreadable on disk, and removed (the visit database is not touched).
- **Video encoding**: 720p VP8 at 30 frames per second or more (15 to 30 warns; below fails).

The checks run one after another, so the encoding speed is measured on an otherwise idle PC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from workstation.readiness import local_data, media, network, screen
from workstation.readiness.runner import Check, CheckResult, Finding, ready, run_checks

__all__ = ["Check", "CheckResult", "Finding", "default_checks", "ready", "run_checks"]


def default_checks(*, data_dir: Path, hub_url: str,
                   ice_servers: Sequence[Mapping[str, Any]]) -> list[Check]:
    """Every check, in the order they run and are reported."""
    return [
        # Qt first, on the caller's (main) thread, before any worker thread exists: its
        # child process is forked from a process with nothing else going on.
        Check("screen", "Screen", True, screen.check_screen, screen.TIMEOUT_S + 2,
              on_caller_thread=True),
        Check("camera", "Camera", True, media.check_camera, 20),
        Check("microphone", "Microphone", True, media.check_microphone),
        Check("speaker", "Speaker", True, media.check_speaker),
        Check("hub", "Hub", True, partial(network.check_hub, hub_url),
              network.HUB_TIMEOUT_S + 2),
        Check("ice", "STUN/TURN", bool(ice_servers),
              partial(network.check_ice_servers, ice_servers),
              network.ice_timeout_s(ice_servers)),
        Check("keyring", "Keyring", True, local_data.check_keyring),
        Check("database", "Database", True, partial(local_data.check_database, data_dir), 20),
        Check("video_encoding", "Video encoding", True, media.check_video_encoding, 30),
    ]
