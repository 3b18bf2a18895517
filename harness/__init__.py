"""The benchmark harness: discover variants, verify, load, measure, store, report, plot.

Run it as ``python3 -m harness --help``; see harness/README.md.
"""

__version__ = "1.0"
