"""Tests of the built-in sandbox itself (batch/sandbox/): that it behaves as Infobip's spec says."""
