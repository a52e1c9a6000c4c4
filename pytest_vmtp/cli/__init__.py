"""Console commands: argument parsing only, calling the modules that do the work."""
