"""Simulators: an embedded broker, virtual devices, synthetic travelers, and the demo hall."""
