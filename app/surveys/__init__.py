"""Survey definitions (files) and their stored versions."""
