"""Stream relays, named by the dialect they emit (``core``: what all of them share)."""
