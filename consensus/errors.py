"""Expected failures of the consensus package, under one root."""

from __future__ import annotations


class ConsensusError(Exception):
    """Root of every expected consensus failure (bad input, refused signature, bad commit)."""


class DecodeError(ConsensusError):
    """Bytes from the outside do not decode to a well-formed consensus object."""


class InvalidSignature(ConsensusError):
    """A signature, public key or aggregate does not verify."""


class InvalidValidatorSet(ConsensusError):
    """A validator set is empty, has a bad key, a non-positive power or a duplicate key."""


class InvalidMessage(ConsensusError):
    """A vote or proposal is well formed but does not fit the consensus context."""


class InvalidCommit(ConsensusError):
    """A commit certificate fails one of verify_commit's checks."""


class InvalidEvidence(ConsensusError):
    """Duplicate-vote evidence fails verification."""


class DoubleSignRefused(ConsensusError):
    """The signer refused: signing would conflict with, or go behind, what it already signed."""


class WALError(ConsensusError):
    """The write-ahead log or the signer state file is unreadable beyond a torn tail."""
