"""Blueprints, one per area: auth, console, api, health. Views parse, call a service, render."""
