"""Loading ICD-10-CM for the hub without freezing the workstation it may be embedded in.

Parsing the classification's XML holds Python's interpreter lock for most of a second; in the
embedded hub that froze the provider's window at start (measured: 0.74 s). A child process
parses it instead and hands over text lines, which this process indexes in short steps.
"""

from __future__ import annotations

import logging
import subprocess

from workstation.core import icd10
from workstation.frozen import module_command

log = logging.getLogger(__name__)


def load_codes() -> None:
    """Build the ICD-10-CM search index from a child process (blocking: call in a thread);
    once per process."""
    if icd10.is_loaded():
        return
    try:
        with subprocess.Popen(
                module_command("workstation.core.icd10"),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                encoding="utf-8") as child:
            assert child.stdout is not None
            icd10.install_from_lines(child.stdout)
        if child.returncode != 0:
            raise RuntimeError(f"the code list process ended with {child.returncode}")
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("Loading ICD-10-CM in a child process failed (%s); loading it here", exc)
        icd10.warm_up()
