"""The point's kiosk app: the customer's journey, the host staff's mode and the call engine.

The session state machine (:mod:`kiosk.session`) is plain Python and knows no Qt; the views in
:mod:`kiosk.views` render its states and send intents back.
"""
