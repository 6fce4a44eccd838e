"""Test oracles: independent checks that tests hold the tiler's output to (not product code)."""
