"""CI artifact parser module (sbom): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
