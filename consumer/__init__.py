"""Layer 1: the record processor, its sinks, the KCL daemon launcher and the local driver."""
