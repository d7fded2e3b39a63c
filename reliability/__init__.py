"""Source-reliability scoring for casualty reporting.

The core library: the canonical data contract, loaders, figure parsing, the outlet model,
score tables and the command line. It imports no web framework; the HTTP API lives in ``api``.
"""

__version__ = "0.1.0"
