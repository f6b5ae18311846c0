"""CI artifact parser module (runs): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
