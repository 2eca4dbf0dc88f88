"""Open DRIMbox: DRIM-M Source and Consommatrice, viewer and conformance kit."""

__version__ = "0.1.0"
