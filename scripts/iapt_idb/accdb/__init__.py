"""The IAPT v2.1 IDB as a Microsoft Access .accdb: writer, reader (the national platform's replica) and
structure tools. Java runs only in spawned child processes; see ``child``."""

from .errors import AccdbError, AccdbStructureError

__all__ = ["AccdbError", "AccdbStructureError"]
