"""Provider workstation for telehealth video visits, and the visit hub it talks to."""

__version__ = "0.1.0"
