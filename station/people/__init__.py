"""People: participants, privacy (masking, purge), and search by name, bib or phone."""
