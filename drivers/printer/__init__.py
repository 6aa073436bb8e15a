"""The point's printer, through CUPS: its state in words people understand, and print jobs that are
followed to the end and leave nothing behind.

Why it is built this way:

* **State is two vocabularies.** CUPS speaks in ``printer-state-reasons`` keywords
  (``media-empty-error``, ``paused``…). The customer needs one plain sentence ("The printer is out of
  paper. The library staff have been told."); the host staff need the keyword and the fix. Both come
  from :mod:`drivers.printer_errors`, in fi/sv/en. cupsd not answering and the queue missing are
  states too, not crashes.
* **A job is followed by notifications, not by polling the job.** The point's cupsd keeps no job
  history (``PreserveJobHistory No``), so a finished job vanishes at once and "not found" could mean
  completed *or* cancelled. A pull subscription (``ippget``) on the queue, opened before the job is
  created, records every state change with the job's final state, so the outcome is never guessed.
* **A job that does not complete is never dropped silently.** Completed, failed, held, stopped by
  cupsd, cancelled or timed out — each ends in a :class:`PrintResult` or a
  :class:`~drivers.printer_errors.PrinterError` with texts for the customer and the agent. A job cupsd
  stops itself (it cannot open the output, a filter fails) never resumes, so it ends at once in
  cupsd's own words rather than after the timeout. A job stuck behind a fault (out of paper) is reported
  at once as *stalled*, waits up to the timeout for the staff to fix it, and is then cancelled: a
  document must never come out later, in front of the next customer.
* **Nothing is kept.** The PDF goes to cupsd from memory (Create-Job + Send-Document), never through
  a file of ours; its title is a random token, not the document's name; after every job and at session
  end the queue's jobs are cancelled and purged, which also removes history where a cupsd keeps it.

Thread use: every call opens its own connection, so a :class:`Printer` may be used from any thread;
listeners are called on the thread running :meth:`Printer.print_pdf` (the kiosk runs it in a worker
thread and hops to its event loop with ``call_soon_threadsafe``).

The package's modules, one concept each: :mod:`~drivers.printer.conditions` (CUPS reasons →
conditions, :class:`PrinterStatus`), :mod:`~drivers.printer.job` (the job follower:
:class:`PrintJob`, its events and result), :mod:`~drivers.printer.client` (:class:`Printer`: connect,
status, submit, purge, the test page) and :mod:`~drivers.printer.ipp` (the IPP enums). Callers import
from ``drivers.printer``.
"""

from drivers.pdfcheck import PdfInfo
from drivers.printer.client import Printer, print_test_page
from drivers.printer.conditions import Condition, PrinterStatus
from drivers.printer.job import PrintEvent, PrintJob, PrintResult, threadsafe
from drivers.printer_errors import (
    DoorOpen,
    EmptyDocument,
    EncryptedPdf,
    InvalidDocument,
    Jammed,
    JobCancelled,
    JobFailed,
    JobHeld,
    JobStopped,
    JobTimeout,
    MalformedPdf,
    NoPages,
    NoPrinter,
    NotAccepting,
    NotAllowed,
    NotAPdf,
    Offline,
    OutOfPaper,
    OutOfToner,
    Paused,
    PrinterError,
    PrintServiceDown,
    TooLarge,
    TooManyPages,
)

__all__ = [
    "Condition",
    "DoorOpen",
    "EmptyDocument",
    "EncryptedPdf",
    "InvalidDocument",
    "Jammed",
    "JobCancelled",
    "JobFailed",
    "JobHeld",
    "JobStopped",
    "JobTimeout",
    "MalformedPdf",
    "NoPages",
    "NoPrinter",
    "NotAPdf",
    "NotAccepting",
    "NotAllowed",
    "Offline",
    "OutOfPaper",
    "OutOfToner",
    "Paused",
    "PdfInfo",
    "PrintEvent",
    "PrintJob",
    "PrintResult",
    "PrintServiceDown",
    "Printer",
    "PrinterError",
    "PrinterStatus",
    "TooLarge",
    "TooManyPages",
    "print_test_page",
    "threadsafe",
]
