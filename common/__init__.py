"""Layer 0: the tick contract, settings, AWS client factory and logging shared by every part."""
