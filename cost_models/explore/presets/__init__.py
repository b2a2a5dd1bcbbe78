"""Built-in sweep presets (YAML), listed by ``accel explore --list-presets``."""
