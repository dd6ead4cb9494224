"""Recursion: the STARK verifier as a fixed program, and the AIR that proves its execution.

Design: docs/recursion.md.
"""
