"""The upgrade gate: a run's figures judged against a baseline run and absolute SLAs.

figures (VMTP's JSON flattened into comparable figures), rules (thresholds and SLAs from the
config), judge (the verdict of one row). Pure modules: the in-run hook and `vmtp-compare` call
the same code.
"""
