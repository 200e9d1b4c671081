class JourneyError(Exception):
    """A journey operation that can't be done; the message is shown to the user."""
