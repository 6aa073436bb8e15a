"""Every code an error or a refusal carries, in one list: the wire, the statistics, the texts and the desk
all speak these words and no others.

Why explicit ``Literal``s and not codes derived from class names or messages: a code is part of the
protocol and of the organiser's statistics, so renaming a class or rewording a sentence must never change
it; and mypy checks every place a code is written. Spelling: ``snake_case`` throughout. Keywords of other
systems (CUPS's ``media-empty-error``, SANE's ``SANE_STATUS_JAMMED``, the worker's fault kinds) are mapped
to these codes at the driver boundary and never travel further.

Grouped by domain (``docs/protocol.md`` lists each code with its meaning):

    DeviceErrorCode          every ``drivers.errors.DeviceError`` subclass has one (its ``code``)
    ├── CardCode             ID-card reader and card (``drivers.carderrors``)
    ├── ScannerCode          the document scanner (``drivers.scanner``)
    ├── PrinterCode          the printer, the print system and a print job (``drivers.printer_errors``)
    ├── PdfRefusalCode       the PDF gate's refusals before printing (``drivers.pdfcheck``)
    ├── CameraCode           the room's camera (``drivers.camera``)
    └── SpeechCode           speech output (``kiosk.speech``)
    PrinterWarningCode       a printer condition that does not stop printing (toner low …)
    PointFailureCode         what only the point can tell (a software fault, a device it does not have)
    DeviceFaultCode          a device's fault in the point's health and the statistics' ``faults``
    ├── DeviceErrorCode      the driver's error (a printer condition's, the scanner's, the camera's …)
    ├── MicrophoneCode       the microphone (it has no driver error of its own)
    ├── NetworkCode          the switchboard connection (the statistics' ``network`` device)
    └── HealthCode           what any device may be: not configured, or its probe failed
    IdentityAbortCode        ``identity.abort``'s reason (why the point gave up identification)
    IdentityResultCode       ``identity.result``'s reason when the switchboard refused the proof
    ├── ProofRefusalCode     the Web eID validator's (``etapiste.webeid.validator.ProofInvalid.reason``)
    └── RevocationCode       the OCSP check's (``etapiste.webeid.ocsp.RevocationError.reason``)
    TransferCode             ``doc.ack``'s reason (a document refused by its receiver)
    TransferFailureCode      a transfer failed at the point (``scan.status``'s reason)
    CallEndCode              ``call.ended``'s reason
    CallTransferReasonCode   ``call.transfer``'s reason (why an agent sends a customer to another queue)
    QueueLeftCode            ``queue.left``'s reason
    AppointmentRefusalCode   ``appointment.refused``'s reason (a check-in code not accepted at the kiosk)
    ProtocolErrorCode        the ``error`` message's code (a signalling frame refused)
    CommandRefusalCode       a remote command a point refused (provisioning, reported to ops)
    BundleRefusalCode        a configuration bundle a point refused (provisioning, reported to ops)
"""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

CardCode: TypeAlias = Literal[
    "card_error",
    "no_reader",
    "no_card",
    "card_removed",
    "not_a_finnish_id_card",
    "pin_format_error",
    "wrong_pin",
    "pin_blocked",
]
ScannerCode: TypeAlias = Literal[
    "scanner_error",
    "scanner_jammed",
    "scanner_out_of_documents",
    "scanner_cover_open",
    "scanner_busy",
    "scanner_io_error",
    "scanner_gone",
    "scanner_unavailable",
]
PrinterCode: TypeAlias = Literal[
    "printer_error",
    # the device reports a fault
    "out_of_paper",
    "jammed",
    "door_open",
    "out_of_toner",
    "offline",
    # the print system cannot take work
    "paused",
    "not_accepting",
    "no_printer",
    "print_service_down",
    "not_allowed",
    # a submitted job did not complete
    "job_failed",
    "job_held",
    "job_stopped",
    "job_cancelled",
    "job_timeout",
]
PrinterWarningCode: TypeAlias = Literal["toner_low", "paper_low", "printer_warning"]
"""A printer condition that does not stop printing (for the staff only; no error carries it)."""
PrinterConditionCode: TypeAlias = Literal[PrinterCode, PrinterWarningCode]
"""A printer condition's code (``drivers.printer.conditions.Condition.code``): its error's or its warning's."""
PdfRefusalCode: TypeAlias = Literal[
    "invalid_document",
    "empty_document",
    "not_a_pdf",
    "malformed_pdf",
    "encrypted_pdf",
    "too_large",
    "too_many_pages",
    "no_pages",
    "page_too_large",
    "decoded_too_large",
    "too_complex",
    "unsupported_image",
    "has_javascript",
    "has_embedded_files",
    "has_launch_action",
]
CameraCode: TypeAlias = Literal["camera_error", "camera_missing", "camera_unplugged"]
SpeechCode: TypeAlias = Literal["speech_error"]
DeviceErrorCode: TypeAlias = Literal[CardCode, ScannerCode, PrinterCode, PdfRefusalCode, CameraCode, SpeechCode]

PointFailureCode: TypeAlias = Literal["internal_error", "printer_unavailable"]
MicrophoneCode: TypeAlias = Literal["microphone_missing", "microphone_silent"]
"""The microphone cannot be opened, or opens and gives no sound."""
NetworkCode: TypeAlias = Literal[
    "no_credential",
    "unreachable",
    "unauthorised",
    "unsupported_version",
    "not_allowed",
    "replaced",
    "closed",
    "turn_refused",
    "turn_unreachable",
]
"""The point's switchboard connection is down: no credential to connect with, the switchboard's own
reasons (``kiosk.call.SwitchboardStatus.reason``), or the TURN relay refused or did not answer."""
HealthCode: TypeAlias = Literal["not_configured", "internal_error"]
"""Any device: the point has none configured, or asking its driver failed (a bug, reported as such)."""
DeviceFaultCode: TypeAlias = Literal[DeviceErrorCode, MicrophoneCode, NetworkCode, HealthCode]
"""``kiosk.health.DeviceHealth.code``: why a device is not ``ok``, as the statistics count it."""

IdentityAbortCode: TypeAlias = Literal[
    "cancelled", "pin_blocked", "card_error", "no_card", "timeout", "internal_error", "origin_mismatch"
]
RevocationCode: TypeAlias = Literal["revoked", "revocation_unknown"]
ProofRefusalCode: TypeAlias = Literal[
    "token_size",
    "token_malformed",
    "token_format",
    "algorithm_unsupported",
    "algorithm_mismatch",
    "certificate_malformed",
    "signature_malformed",
    "nonce_unknown",
    "nonce_used",
    "nonce_expired",
    "certificate_not_yet_valid",
    "certificate_expired",
    "issuer_not_yet_valid",
    "issuer_expired",
    "certificate_key_usage",
    "certificate_purpose",
    "certificate_untrusted",
    "certificate_policy",
    "signature_invalid",
    RevocationCode,
]
IdentityResultCode: TypeAlias = Literal[ProofRefusalCode, "nonce_reused", "unavailable"]
"""The switchboard's refusals: the validator's, a request not open (``nonce_reused``), or no CA list
(``unavailable``). ``identity.result`` may also carry the point's :data:`IdentityAbortCode`."""
TransferCode: TypeAlias = Literal["checksum_mismatch", "size_mismatch", "too_large", "not_pdf", "cancelled", "busy"]
CallEndCode: TypeAlias = Literal["hangup", "point_gone", "agent_gone", "setup_failed", "transferred"]
CallTransferReasonCode: TypeAlias = Literal["other_producer_matter", "specialist_needed", "language", "other"]
"""Why an agent transfers a customer (issue 22): a fixed list, never free text, so no personal data travels
with the customer to the receiving agent."""
QueueLeftCode: TypeAlias = Literal["cancelled", "timeout", "closed"]
AppointmentRefusalCode: TypeAlias = Literal[
    "wrong_code", "too_early", "expired", "used", "too_many_tries", "already_queued", "queue_closed"
]
"""Why a check-in code was not accepted (issue 22): no open booking at this point has it, its time window has not
opened or has passed, it was checked in already, too many wrong codes at this point lately, the point is already
queued or in a call, or the producer's queue is outside its service hours."""
ProtocolErrorCode: TypeAlias = Literal[
    "malformed",
    "unknown_type",
    "unsupported_version",
    "not_allowed",
    "unauthorised",
    "session_expired",
    "unknown_queue",
    "queue_closed",
    "already_queued",
    "ticket_gone",
    "not_in_call",
    "no_interpreter",
    "invite_gone",
    "no_agent",
    "too_large",
    "rate_limited",
    "unavailable",
    "internal",
]
CommandRefusalCode: TypeAlias = Literal[
    "malformed", "unsigned", "signature", "wrong_point", "no_expiry", "expired", "too_long", "replay", "trust_store"
]
BundleRefusalCode: TypeAlias = Literal[
    "malformed", "signature", "wrong_point", "expired", "old_version", "schema", "keys", "failed_before", "trust_store"
]

TransferFailureCode: TypeAlias = Literal[TransferCode, "call_dropped", "no_answer", "not_connected"]
"""A transfer that failed at the point: the receiver's refusal (:data:`TransferCode`), or what only the
sender sees (the call dropped, no answer in time, no data channel)."""

PrintFailureCode: TypeAlias = Literal[DeviceErrorCode, PointFailureCode]
"""``print.status``'s reason: the error a print raised (the printer's, the PDF gate's) or the point's."""
ScanFailureCode: TypeAlias = Literal[DeviceErrorCode, PointFailureCode, TransferFailureCode]
"""``scan.status``'s reason on failure: the error the scan raised (the scanner's), the point's, or the
failed transfer's."""

#: Every domain's codes by the name ``docs/protocol.md`` gives the domain. A code may stand in more than
#: one domain (``cancelled``, ``too_large``) and then means the same thing in each.
DOMAINS: dict[str, tuple[str, ...]] = {
    "card": get_args(CardCode),
    "scanner": get_args(ScannerCode),
    "printer": get_args(PrinterCode),
    "printer_warning": get_args(PrinterWarningCode),
    "pdf": get_args(PdfRefusalCode),
    "camera": get_args(CameraCode),
    "speech": get_args(SpeechCode),
    "point": get_args(PointFailureCode),
    "microphone": get_args(MicrophoneCode),
    "network": get_args(NetworkCode),
    "health": get_args(HealthCode),
    "identity": get_args(IdentityAbortCode),
    "identity_result": get_args(IdentityResultCode),
    "transfer": get_args(TransferFailureCode),
    "call": get_args(CallEndCode),
    "call_transfer": get_args(CallTransferReasonCode),
    "queue": get_args(QueueLeftCode),
    "appointment": get_args(AppointmentRefusalCode),
    "protocol": get_args(ProtocolErrorCode),
    "command": get_args(CommandRefusalCode),
    "bundle": get_args(BundleRefusalCode),
}
DEVICE_ERROR_CODES: frozenset[str] = frozenset(get_args(DeviceErrorCode))
ALL_CODES: frozenset[str] = frozenset(code for codes in DOMAINS.values() for code in codes)
