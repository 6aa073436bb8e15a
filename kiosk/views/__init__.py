"""Qt views: each renders a :class:`kiosk.session.Snapshot` and turns presses into intents on the
:class:`kiosk.session.Session`. No business rules here."""
