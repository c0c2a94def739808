"""Stand-ins for the systems Minzheng exchanges data with, each run as its own process (demo and tests)."""
