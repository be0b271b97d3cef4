"""Formal verification of cxlquant's blocks: properties in Amaranth, proved with SymbiYosys.

``python -m verif.formal`` (``make formal``) runs the jobs of :mod:`verif.formal.jobs` and ends
with ``formal: P proved, F failed, B bounded-only``.
"""
