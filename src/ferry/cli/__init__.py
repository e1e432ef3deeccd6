"""The ``ferry`` command line: ``ferry copy`` and ``ferry sync`` on top of the copy engine."""
