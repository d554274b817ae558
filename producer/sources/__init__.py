"""Quote sources: each yields raw quotes that the producer validates into ticks."""
