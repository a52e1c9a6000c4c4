"""Scale mode: several client/server pairs of one row measured at once (--vmtp-pairs), and
progressions of the pair count (--vmtp-progression). settings and stats are pure; runner
measures (through measure/parallel.py)."""
