"""Execution: chain types, the state, the native state transition, and (in sub-packages) the
zkVM and the proof system."""
