"""What can go wrong with printing, in the words of the customer and of the staff (fi/sv/en; the texts are
in the catalogue, :mod:`etapiste.texts`, as ``error.<code>.customer`` and ``error.<code>.staff``).

Two audiences read these: the *customer* in the room (plain words: what happened, that someone was
told, what happens next) and the host *staff* / ops (the device's own reason keyword in brackets and
the action that fixes it). The agent who sent the document sees the staff text, because the agent
needs the precise reason (e.g. "42 pages; at most 30"). No text carries personal data: parameters
are counts, sizes, the queue name, CUPS reason keywords and cupsd's own words about a stopped job
(its fixed messages and a filter's error line; the job's title in CUPS is a random token).

    PrinterError
    ├── OutOfPaper, Jammed, DoorOpen, OutOfToner, Offline    the device reports a fault
    ├── Paused, NotAccepting, NoPrinter, PrintServiceDown    the print system cannot take work
    ├── NotAllowed                                           cupsd refuses to purge or resume
    ├── JobFailed ── JobHeld, JobStopped, JobCancelled,      a submitted job did not complete
    │                JobTimeout
    └── InvalidDocument ── EmptyDocument, NotAPdf, MalformedPdf, EncryptedPdf, TooLarge,
                           TooManyPages, NoPages,             the PDF was refused before printing
                           PageTooLarge, DecodedTooLarge,     (the last seven by the hostile-content
                           TooComplex, UnsupportedImage,       checks of drivers/pdfcheck.py)
                           HasJavascript, HasEmbeddedFiles,
                           HasLaunchAction
"""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.errors import DeviceError
from etapiste import texts
from etapiste.codes import DeviceErrorCode
from etapiste.host import HOST_WORDS
from etapiste.language import Language


class _Params(dict[str, Any]):
    """Missing parameters show as "?" rather than crash while reporting a fault; the host's words
    (``{staff_told}``) are left for the kiosk, which knows the host (:mod:`etapiste.host`)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}" if key in HOST_WORDS else "?"


class PrinterError(DeviceError):
    """Any printing fault. ``params`` fill the ``{placeholders}`` of the class's texts.

    ``job_id`` is set when the fault ended a job; ``not_printed`` adds the "your document was not
    printed" sentence to the customer text of a device fault, so nobody is left waiting for paper
    that will never come.
    """

    code: ClassVar[DeviceErrorCode] = "printer_error"
    """The error's code (:mod:`etapiste.codes`): logs, JSON status, the wire and the agent's desk."""

    def __init__(self, *, job_id: int | None = None, not_printed: bool = False, **params: Any) -> None:
        self.job_id = job_id
        self.not_printed = not_printed
        self.params: dict[str, Any] = {"detail": self.code, **params}
        super().__init__(self.staff_message("en"))

    def customer_message(self, language: Language) -> str:
        text = self.customer_template(language).format_map(_Params(self.params))
        if self.not_printed and not isinstance(self, JobFailed):
            # a device fault gave up a job of theirs: nobody is left waiting for paper that never comes
            text = f"{text} {texts.text('printer.not_printed', language)}"
        return text

    def staff_message(self, language: Language) -> str:
        return self.staff_template(language).format_map(_Params(self.params))

    def report(self) -> dict[str, Any]:
        """A JSON-ready account for the agent's desk and the health report (no personal data)."""
        return {
            "reason": self.code,
            "job_id": self.job_id,
            "customer": {lang: self.customer_message(lang) for lang in ("fi", "sv", "en")},
            "staff": {lang: self.staff_message(lang) for lang in ("fi", "sv", "en")},
        }


# -- the device reports a fault ------------------------------------------------------------------


class OutOfPaper(PrinterError):
    code: ClassVar[DeviceErrorCode] = "out_of_paper"


class Jammed(PrinterError):
    code: ClassVar[DeviceErrorCode] = "jammed"


class DoorOpen(PrinterError):
    code: ClassVar[DeviceErrorCode] = "door_open"


class OutOfToner(PrinterError):
    code: ClassVar[DeviceErrorCode] = "out_of_toner"


class Offline(PrinterError):
    code: ClassVar[DeviceErrorCode] = "offline"


# -- the print system cannot take work ------------------------------------------------------------


class Paused(PrinterError):
    code: ClassVar[DeviceErrorCode] = "paused"


class NotAccepting(PrinterError):
    code: ClassVar[DeviceErrorCode] = "not_accepting"


class NoPrinter(PrinterError):
    """The configured queue does not exist in CUPS, or the point has no printer configured."""

    code: ClassVar[DeviceErrorCode] = "no_printer"


class PrintServiceDown(PrinterError):
    """cupsd itself does not answer: nothing can be printed or even asked about."""

    code: ClassVar[DeviceErrorCode] = "print_service_down"


class NotAllowed(PrinterError):
    """cupsd refused an operation the point needs (purging jobs, resuming the queue)."""

    code: ClassVar[DeviceErrorCode] = "not_allowed"


# -- a submitted job did not complete -------------------------------------------------------------


class JobFailed(PrinterError):
    """The job ended without printing everything; ``detail`` is the CUPS job-state-reasons keyword."""

    code: ClassVar[DeviceErrorCode] = "job_failed"


class JobHeld(JobFailed):
    """CUPS held the job (the backend asked for it): it would wait forever, so it was cancelled."""

    code: ClassVar[DeviceErrorCode] = "job_held"


class JobStopped(JobFailed):
    """cupsd stopped the job itself (job-state *stopped*): it could not open the output, start a
    filter or the backend, or a filter failed. CUPS never resumes such a job on its own (only a
    pending job is started again), so waiting would only run into the timeout; it was cancelled at once.

    ``detail`` is cupsd's job-state-reasons keyword (``job-stopped``) and ``message`` cupsd's own words
    (the notification's text, e.g. "Stopping job because the scheduler could not open the output
    file.", and the filter's last error where there is one) — for the staff and ops, never the customer.
    """

    code: ClassVar[DeviceErrorCode] = "job_stopped"


class JobCancelled(JobFailed):
    code: ClassVar[DeviceErrorCode] = "job_cancelled"


class JobTimeout(JobFailed):
    code: ClassVar[DeviceErrorCode] = "job_timeout"


# -- the PDF was refused before printing -----------------------------------------------------------


class InvalidDocument(PrinterError):
    """The document was refused before it reached the printer; nothing was queued."""

    code: ClassVar[DeviceErrorCode] = "invalid_document"


class EmptyDocument(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "empty_document"


class NotAPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "not_a_pdf"


class MalformedPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "malformed_pdf"


class EncryptedPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "encrypted_pdf"


class TooLarge(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "too_large"


class TooManyPages(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "too_many_pages"


class NoPages(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "no_pages"


# -- the PDF was refused by the hostile-content checks (drivers/pdfcheck.py) -----------------------
#
# Their ``code`` is what the gate's worker answers and what print.status carries (``has_javascript``).
# Where in the document the finding is (``page`` number, ``document`` level or an ``object`` number,
# plus the PDF key such as ``/OpenAction``) is given in the staff's language, so the agent can tell the
# author what to fix.

class _Located(InvalidDocument):
    """A refusal about one place in the document: ``where`` (``page``/``document``/``object``), ``n``
    (page or object number) and ``key`` (the PDF key, e.g. ``/AA``) fill ``{where}`` per language."""

    def staff_message(self, language: Language) -> str:
        kind = str(self.params.get("where", "object"))
        if kind not in ("page", "document", "object"):
            kind = "object"
        place = texts.text(f"printer.where.{kind}", language, n=self.params.get("n", "?"))
        key = self.params.get("key")
        if key:
            place = f"{place}, {key}"
        return self.staff_template(language).format_map(_Params({**self.params, "where": place}))


class PageTooLarge(InvalidDocument):
    """A page so much larger than the paper that fitting it would make it unreadable."""

    code: ClassVar[DeviceErrorCode] = "page_too_large"


class DecodedTooLarge(_Located):
    """The document unpacks to more than the gate holds: one part (``scope=part``) or all (``total``)."""

    code: ClassVar[DeviceErrorCode] = "decoded_too_large"

    def staff_message(self, language: Language) -> str:
        if self.params.get("scope") == "total":
            return texts.template("error.decoded_too_large.staff_total", language).format_map(_Params(self.params))
        return super().staff_message(language)


class TooComplex(InvalidDocument):
    """Checking the document took more memory (``limit=memory``) or processor time (``time``) than the
    gate's worker is allowed: a document built to exhaust the point, or one far too heavy to print."""

    code: ClassVar[DeviceErrorCode] = "too_complex"

    def staff_message(self, language: Language) -> str:
        if self.params.get("limit") == "time":
            return texts.template("error.too_complex.staff_time", language).format_map(_Params(self.params))
        return self.staff_template(language).format_map(_Params(self.params))


class UnsupportedImage(_Located):
    """A JBIG2 or JPEG 2000 image: codecs with a long record of exploitable decoder bugs, which the
    point's print filters would otherwise decode."""

    code: ClassVar[DeviceErrorCode] = "unsupported_image"


class HasJavascript(_Located):
    code: ClassVar[DeviceErrorCode] = "has_javascript"


class HasEmbeddedFiles(_Located):
    code: ClassVar[DeviceErrorCode] = "has_embedded_files"


class HasLaunchAction(_Located):
    code: ClassVar[DeviceErrorCode] = "has_launch_action"
