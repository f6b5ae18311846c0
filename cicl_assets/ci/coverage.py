"""CI artifact parser module (coverage): to be filled."""

FORMATS: tuple = ()
TABLES: tuple = ()
