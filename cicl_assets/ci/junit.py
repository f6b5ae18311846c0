"""CI artifact parser module (junit): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
