"""Plain typed values shared by every layer."""
