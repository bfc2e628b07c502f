"""fleetboard: one page that says which environment of the fleet is up, healthy and drifting."""

__version__ = "0.1.0"
