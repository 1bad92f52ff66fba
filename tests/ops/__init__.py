"""Tests of the operator's playbooks that run on this machine, without containers."""
