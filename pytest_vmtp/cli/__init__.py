"""Console commands: argument parsing only, over the modules that do the work."""
