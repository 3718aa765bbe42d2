"""An in-memory keyring for tests: these machines have no Secret Service."""

from __future__ import annotations

from workstation.storage.keystore import ProcessKeyring


class MemoryKeyring(ProcessKeyring):
    pass
