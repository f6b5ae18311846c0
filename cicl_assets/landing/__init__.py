"""The landing zone: where the platform and its pipelines drop files for cicl to ingest."""

from cicl_assets.landing.zone import LandingObject, LandingZone, open_landing

__all__ = ["LandingObject", "LandingZone", "open_landing"]
