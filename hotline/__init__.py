"""hotline: a call-hunting hotline runtime for the Asterisk PBX."""

__version__ = "0.1.0"
