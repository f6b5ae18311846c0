"""CI artifact parser module (findings): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
