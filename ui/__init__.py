"""The WO.RUN Station desktop application (PySide6). Thin: models adapt domain snapshots, widgets
render, workers keep blocking work off the GUI thread. No business rule lives here."""
