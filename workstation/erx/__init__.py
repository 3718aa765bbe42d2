"""Prescription outbox and transmission (e-prescribing issue)."""
