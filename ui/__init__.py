"""WO.RUN Station desktop application (PySide6)."""
