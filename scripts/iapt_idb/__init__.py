"""iapt-idb: build, validate and export the NHS Talking Therapies (IAPT v2.1) Intermediate Database."""

__version__ = "0.1.0"
