"""Stand-in for the authors' `models` package: only what their checkpoints pickle."""
