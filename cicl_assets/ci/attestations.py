"""CI artifact parser module (attestations): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
