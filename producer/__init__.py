"""Layer 1: quote sources and the Kinesis publisher (`python -m producer`)."""
