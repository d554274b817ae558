"""Layer 2: the `stockpipe` CLI and the embedded local stack."""
