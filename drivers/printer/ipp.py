"""The IPP enums (RFC 8011) the printer driver reads, named here because pycups exposes them under
long names."""

from __future__ import annotations

# job-state
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
# printer-state
PRINTER_IDLE, PRINTER_PROCESSING, PRINTER_STOPPED = 3, 4, 5
# status codes
IPP_NOT_FOUND = 0x0406
IPP_NOT_ACCEPTING = 0x0506
IPP_REFUSED = {0x0401, 0x0402, 0x0403}  # forbidden, not-authenticated, not-authorized
