"""What can go wrong with printing, in the words of the customer and of the staff (fi/sv/en).

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

from drivers.errors import DeviceError, Messages
from etapiste.codes import DeviceErrorCode
from etapiste.language import Language

_TOLD = {
    "fi": "Kirjaston henkilökunnalle on ilmoitettu.",
    "sv": "Bibliotekets personal har fått veta.",
    "en": "The library staff have been told.",
}

#: Appended to a device fault's customer text when a job of theirs was given up because of it.
NOT_PRINTED: Messages = {
    "fi": "Asiakirjaasi ei tulostettu. Virkailija näkee tämän ja voi lähettää sen uudelleen.",
    "sv": "Ditt dokument skrevs inte ut. Handläggaren ser det och kan skicka det igen.",
    "en": "Your document was not printed. The agent can see this and can send it again.",
}


class _Params(dict[str, Any]):
    """Missing parameters show as "?" rather than crash while reporting a fault."""

    def __missing__(self, key: str) -> str:
        return "?"


def _told(fi: str, sv: str, en: str) -> Messages:
    return {"fi": f"{fi} {_TOLD['fi']}", "sv": f"{sv} {_TOLD['sv']}", "en": f"{en} {_TOLD['en']}"}


class PrinterError(DeviceError):
    """Any printing fault. ``params`` fill the ``{placeholders}`` of the class's texts.

    ``job_id`` is set when the fault ended a job; ``not_printed`` adds the "your document was not
    printed" sentence to the customer text of a device fault, so nobody is left waiting for paper
    that will never come.
    """

    code: ClassVar[DeviceErrorCode] = "printer_error"
    """The error's code (:mod:`etapiste.codes`): logs, JSON status, the wire and the agent's desk."""
    customer: ClassVar[Messages] = _told(
        "Tulostimessa on häiriö.", "Det är fel på skrivaren.", "The printer has a fault."
    )
    staff: ClassVar[Messages] = {
        "fi": "Tulostinvika ({detail})",
        "sv": "Skrivarfel ({detail})",
        "en": "Printer fault ({detail})",
    }

    def __init__(self, *, job_id: int | None = None, not_printed: bool = False, **params: Any) -> None:
        self.job_id = job_id
        self.not_printed = not_printed
        self.params: dict[str, Any] = {"detail": self.code, **params}
        super().__init__(self.staff_message("en"))

    def customer_message(self, language: Language) -> str:
        text = self.customer[language].format_map(_Params(self.params))
        if self.not_printed and not isinstance(self, JobFailed):
            text = f"{text} {NOT_PRINTED[language]}"
        return text

    def staff_message(self, language: Language) -> str:
        return self.staff[language].format_map(_Params(self.params))

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
    customer: ClassVar[Messages] = _told(
        "Tulostimesta on loppunut paperi.", "Skrivaren har slut på papper.", "The printer is out of paper."
    )
    staff: ClassVar[Messages] = {
        "fi": "Paperi loppu (media-empty): täytä paperikasetti ja jatka tulostusta henkilökuntatilassa.",
        "sv": "Papperet är slut (media-empty): fyll på pappersfacket och återuppta utskriften i personalläget.",
        "en": "Out of paper (media-empty): fill the paper tray, then resume printing in staff mode.",
    }


class Jammed(PrinterError):
    code: ClassVar[DeviceErrorCode] = "jammed"
    customer: ClassVar[Messages] = _told(
        "Tulostimeen on juuttunut paperia.", "Papper har fastnat i skrivaren.", "Paper is stuck in the printer."
    )
    staff: ClassVar[Messages] = {
        "fi": "Paperitukos (media-jam): avaa tulostin, poista juuttunut paperi, sulje ja jatka tulostusta.",
        "sv": "Pappersstopp (media-jam): öppna skrivaren, ta bort papperet som fastnat, stäng den och "
        "återuppta utskriften.",
        "en": "Paper jam (media-jam): open the printer, remove the stuck paper, close it, then resume printing.",
    }


class DoorOpen(PrinterError):
    code: ClassVar[DeviceErrorCode] = "door_open"
    customer: ClassVar[Messages] = _told(
        "Tulostimen luukku on auki.", "En lucka på skrivaren är öppen.", "A cover of the printer is open."
    )
    staff: ClassVar[Messages] = {
        "fi": "Luukku tai kansi auki (door-open): sulje se ja jatka tulostusta.",
        "sv": "Lucka eller lock öppet (door-open): stäng det och återuppta utskriften.",
        "en": "Door or cover open (door-open): close it, then resume printing.",
    }


class OutOfToner(PrinterError):
    code: ClassVar[DeviceErrorCode] = "out_of_toner"
    customer: ClassVar[Messages] = _told(
        "Tulostimesta on loppunut väri.", "Skrivaren har slut på toner.", "The printer has run out of toner."
    )
    staff: ClassVar[Messages] = {
        "fi": "Väriaine loppu (toner-empty): vaihda värikasetti ja jatka tulostusta.",
        "sv": "Tonern är slut (toner-empty): byt tonerkassett och återuppta utskriften.",
        "en": "Toner empty (toner-empty): replace the toner cartridge, then resume printing.",
    }


class Offline(PrinterError):
    code: ClassVar[DeviceErrorCode] = "offline"
    customer: ClassVar[Messages] = _told(
        "Tulostimeen ei saada yhteyttä.", "Skrivaren går inte att nå.", "The printer cannot be reached."
    )
    staff: ClassVar[Messages] = {
        "fi": "Tulostin ei vastaa (offline): tarkista, että se on päällä ja kaapeli on kiinni.",
        "sv": "Skrivaren svarar inte (offline): kontrollera att den är påslagen och att kabeln sitter i.",
        "en": "Printer offline (offline): check that it is switched on and its cable is connected.",
    }


# -- the print system cannot take work ------------------------------------------------------------

_UNAVAILABLE = _told(
    "Tulostus ei ole juuri nyt käytettävissä.",
    "Utskrift är inte tillgänglig just nu.",
    "Printing is not available right now.",
)


class Paused(PrinterError):
    code: ClassVar[DeviceErrorCode] = "paused"
    customer: ClassVar[Messages] = _UNAVAILABLE
    staff: ClassVar[Messages] = {
        "fi": "Tulostusjono pysäytetty (paused): jatka tulostusta henkilökuntatilassa, kun tulostin on kunnossa.",
        "sv": "Utskriftskön är pausad (paused): återuppta utskriften i personalläget när skrivaren är klar.",
        "en": "Print queue paused (paused): resume printing in staff mode once the printer is ready.",
    }


class NotAccepting(PrinterError):
    code: ClassVar[DeviceErrorCode] = "not_accepting"
    customer: ClassVar[Messages] = _UNAVAILABLE
    staff: ClassVar[Messages] = {
        "fi": "Tulostusjono ei ota töitä vastaan (not accepting jobs): ota jono käyttöön henkilökuntatilassa.",
        "sv": "Utskriftskön tar inte emot jobb (not accepting jobs): aktivera kön i personalläget.",
        "en": "Print queue not accepting jobs (not accepting jobs): enable the queue in staff mode.",
    }


class NoPrinter(PrinterError):
    """The configured queue does not exist in CUPS, or the point has no printer configured."""

    code: ClassVar[DeviceErrorCode] = "no_printer"
    customer: ClassVar[Messages] = {
        "fi": "Tässä palvelupisteessä ei voi juuri nyt tulostaa.",
        "sv": "Det går inte att skriva ut på den här servicepunkten just nu.",
        "en": "Printing is not possible at this service point right now.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Tulostusjonoa '{queue}' ei ole (no queue): tarkista pisteen asetukset tai ota yhteys tukeen.",
        "sv": "Utskriftskön '{queue}' finns inte (no queue): kontrollera punktens inställningar eller kontakta "
        "supporten.",
        "en": "Print queue '{queue}' does not exist (no queue): check the point's configuration or call support.",
    }


class PrintServiceDown(PrinterError):
    """cupsd itself does not answer: nothing can be printed or even asked about."""

    code: ClassVar[DeviceErrorCode] = "print_service_down"
    customer: ClassVar[Messages] = _UNAVAILABLE
    staff: ClassVar[Messages] = {
        "fi": "Tulostuspalvelu ei vastaa (cupsd unreachable): käynnistä piste uudelleen tai ota yhteys tukeen.",
        "sv": "Utskriftstjänsten svarar inte (cupsd unreachable): starta om punkten eller kontakta supporten.",
        "en": "Print service not answering (cupsd unreachable): restart the point or call support.",
    }


class NotAllowed(PrinterError):
    """cupsd refused an operation the point needs (purging jobs, resuming the queue)."""

    code: ClassVar[DeviceErrorCode] = "not_allowed"
    customer: ClassVar[Messages] = _UNAVAILABLE
    staff: ClassVar[Messages] = {
        "fi": "Tulostuspalvelu ei salli toimintoa ({detail}): kioskin käyttäjän pitää kuulua lpadmin-ryhmään.",
        "sv": "Utskriftstjänsten tillåter inte åtgärden ({detail}): kioskens användare måste höra till gruppen "
        "lpadmin.",
        "en": "The print service refused the operation ({detail}): the kiosk's user must be in the lpadmin group.",
    }


# -- a submitted job did not complete -------------------------------------------------------------


class JobFailed(PrinterError):
    """The job ended without printing everything; ``detail`` is the CUPS job-state-reasons keyword."""

    code: ClassVar[DeviceErrorCode] = "job_failed"
    customer: ClassVar[Messages] = {
        "fi": "Asiakirjaa ei voitu tulostaa. Virkailija näkee tämän ja voi lähettää sen uudelleen.",
        "sv": "Dokumentet kunde inte skrivas ut. Handläggaren ser det och kan skicka det igen.",
        "en": "Your document could not be printed. The agent can see this and can send it again.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Tulostustyö epäonnistui ({detail}); asiakirja ei tulostunut.",
        "sv": "Utskriftsjobbet misslyckades ({detail}); dokumentet skrevs inte ut.",
        "en": "Print job failed ({detail}); the document was not printed.",
    }


class JobHeld(JobFailed):
    """CUPS held the job (the backend asked for it): it would wait forever, so it was cancelled."""

    code: ClassVar[DeviceErrorCode] = "job_held"
    staff: ClassVar[Messages] = {
        "fi": "Tulostusjärjestelmä pysäytti työn ({detail}); työ peruttiin eikä asiakirja tulostunut.",
        "sv": "Utskriftssystemet höll kvar jobbet ({detail}); jobbet avbröts och dokumentet skrevs inte ut.",
        "en": "The print system held the job ({detail}); it was cancelled and the document was not printed.",
    }


class JobStopped(JobFailed):
    """cupsd stopped the job itself (job-state *stopped*): it could not open the output, start a
    filter or the backend, or a filter failed. CUPS never resumes such a job on its own (only a
    pending job is started again), so waiting would only run into the timeout; it was cancelled at once.

    ``detail`` is cupsd's job-state-reasons keyword (``job-stopped``) and ``message`` cupsd's own words
    (the notification's text, e.g. "Stopping job because the scheduler could not open the output
    file.", and the filter's last error where there is one) — for the staff and ops, never the customer.
    """

    code: ClassVar[DeviceErrorCode] = "job_stopped"
    staff: ClassVar[Messages] = {
        "fi": "Tulostuspalvelu (cupsd) pysäytti työn ({detail}): {message} Työ peruttiin; asiakirja ei tulostunut.",
        "sv": "Utskriftstjänsten (cupsd) stoppade jobbet ({detail}): {message} Jobbet avbröts; dokumentet skrevs "
        "inte ut.",
        "en": "The print service (cupsd) stopped the job ({detail}): {message} It was cancelled; the document was "
        "not printed.",
    }


class JobCancelled(JobFailed):
    code: ClassVar[DeviceErrorCode] = "job_cancelled"
    customer: ClassVar[Messages] = {
        "fi": "Tulostus peruttiin.",
        "sv": "Utskriften avbröts.",
        "en": "Printing was cancelled.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Tulostustyö peruttiin ({detail}).",
        "sv": "Utskriftsjobbet avbröts ({detail}).",
        "en": "Print job cancelled ({detail}).",
    }


class JobTimeout(JobFailed):
    code: ClassVar[DeviceErrorCode] = "job_timeout"
    staff: ClassVar[Messages] = {
        "fi": "Tulostustyö ei valmistunut {timeout_s} sekunnissa ({detail}); työ peruttiin.",
        "sv": "Utskriftsjobbet blev inte klart på {timeout_s} sekunder ({detail}); jobbet avbröts.",
        "en": "Print job did not finish within {timeout_s} s ({detail}); it was cancelled.",
    }


# -- the PDF was refused before printing -----------------------------------------------------------


class InvalidDocument(PrinterError):
    """The document was refused before it reached the printer; nothing was queued."""

    code: ClassVar[DeviceErrorCode] = "invalid_document"
    customer: ClassVar[Messages] = {
        "fi": "Tätä asiakirjaa ei voi tulostaa täällä. Virkailija näkee syyn.",
        "sv": "Det här dokumentet kan inte skrivas ut här. Handläggaren ser orsaken.",
        "en": "This document cannot be printed here. The agent can see why.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Asiakirja hylättiin ({detail}).",
        "sv": "Dokumentet avvisades ({detail}).",
        "en": "Document refused ({detail}).",
    }


class EmptyDocument(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "empty_document"
    staff: ClassVar[Messages] = {
        "fi": "Tiedosto on tyhjä (0 tavua).",
        "sv": "Filen är tom (0 byte).",
        "en": "The file is empty (0 bytes).",
    }


class NotAPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "not_a_pdf"
    staff: ClassVar[Messages] = {
        "fi": "Tiedosto ei ole PDF (alusta puuttuu %PDF-). Lähetä asiakirja PDF-muodossa.",
        "sv": "Filen är inte en PDF (%PDF- saknas i början). Skicka dokumentet som PDF.",
        "en": "The file is not a PDF (it does not start with %PDF-). Send the document as a PDF.",
    }


class MalformedPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "malformed_pdf"
    staff: ClassVar[Messages] = {
        "fi": "PDF on vioittunut eikä sitä voi lukea ({detail}). Tallenna se uudelleen ja lähetä uudestaan.",
        "sv": "PDF-filen är skadad och kan inte läsas ({detail}). Spara den på nytt och skicka igen.",
        "en": "The PDF is damaged and cannot be read ({detail}). Save it again and resend.",
    }


class EncryptedPdf(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "encrypted_pdf"
    staff: ClassVar[Messages] = {
        "fi": "PDF on salattu tai suojattu salasanalla. Lähetä se ilman suojausta.",
        "sv": "PDF-filen är krypterad eller lösenordsskyddad. Skicka den utan skydd.",
        "en": "The PDF is encrypted or password-protected. Send it without protection.",
    }


class TooLarge(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "too_large"
    staff: ClassVar[Messages] = {
        "fi": "Tiedosto on {size_mb} Mt; enintään {max_mb} Mt voidaan tulostaa.",
        "sv": "Filen är {size_mb} MB; högst {max_mb} MB kan skrivas ut.",
        "en": "The file is {size_mb} MB; at most {max_mb} MB can be printed.",
    }


class TooManyPages(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "too_many_pages"
    staff: ClassVar[Messages] = {
        "fi": "Asiakirjassa on {pages} sivua; täällä voi tulostaa enintään {max_pages} sivua.",
        "sv": "Dokumentet har {pages} sidor; högst {max_pages} sidor kan skrivas ut här.",
        "en": "The document has {pages} pages; at most {max_pages} pages can be printed here.",
    }


class NoPages(InvalidDocument):
    code: ClassVar[DeviceErrorCode] = "no_pages"
    staff: ClassVar[Messages] = {
        "fi": "PDF:ssä ei ole yhtään sivua.",
        "sv": "PDF-filen har inga sidor.",
        "en": "The PDF has no pages.",
    }


# -- the PDF was refused by the hostile-content checks (drivers/pdfcheck.py) -----------------------
#
# Their ``code`` is what the gate's worker answers and what print.status carries (``has_javascript``).
# Where in the document the finding is (``page`` number, ``document`` level or an ``object`` number,
# plus the PDF key such as ``/OpenAction``) is given in the staff's language, so the agent can tell the
# author what to fix.

_WHERE: dict[str, Messages] = {
    "page": {"fi": "sivu {n}", "sv": "sidan {n}", "en": "page {n}"},
    "document": {"fi": "asiakirjan tasolla", "sv": "på dokumentnivå", "en": "document level"},
    "object": {"fi": "objekti {n}", "sv": "objekt {n}", "en": "object {n}"},
}

_RESAVE: Messages = {
    "fi": "Tallenna se uudelleen (esim. tulosta uudeksi PDF:ksi) ja lähetä uudestaan.",
    "sv": "Spara den på nytt (t.ex. skriv ut den till en ny PDF) och skicka igen.",
    "en": "Save it again (e.g. print it to a new PDF) and resend.",
}


class _Located(InvalidDocument):
    """A refusal about one place in the document: ``where`` (``page``/``document``/``object``), ``n``
    (page or object number) and ``key`` (the PDF key, e.g. ``/AA``) fill ``{where}`` per language."""

    def staff_message(self, language: Language) -> str:
        kind = str(self.params.get("where", "object"))
        place = _WHERE.get(kind, _WHERE["object"])[language].format(n=self.params.get("n", "?"))
        key = self.params.get("key")
        if key:
            place = f"{place}, {key}"
        return self.staff[language].format_map(_Params({**self.params, "where": place}))


class PageTooLarge(InvalidDocument):
    """A page so much larger than the paper that fitting it would make it unreadable."""

    code: ClassVar[DeviceErrorCode] = "page_too_large"
    staff: ClassVar[Messages] = {
        "fi": "Sivu {page} on {width_mm} × {height_mm} mm; pisteen {paper}-paperille se tulostuisi {percent} %:n "
        "kokoon (vähintään {min_percent} %, jotta se pysyy luettavana). Lähetä se {paper}-kokoisena.",
        "sv": "Sidan {page} är {width_mm} × {height_mm} mm; på punktens {paper}-papper skulle den skrivas ut i "
        "{percent} % av sin storlek (minst {min_percent} % tillåts, så att den förblir läsbar). Skicka den i "
        "{paper}-format.",
        "en": "Page {page} is {width_mm} × {height_mm} mm; on the point's {paper} paper it would print at "
        "{percent} % of its size (at least {min_percent} % is allowed, so that it stays readable). Send it in "
        "{paper} size.",
    }


class DecodedTooLarge(_Located):
    """The document unpacks to more than the gate holds: one part (``scope=part``) or all (``total``)."""

    code: ClassVar[DeviceErrorCode] = "decoded_too_large"
    staff: ClassVar[Messages] = {
        "fi": "PDF:n osa ({where}) purkautuu yli {limit_mb} Mt:n kokoiseksi; täällä voi tulostaa enintään "
        f"{{limit_mb}} Mt osaa kohden. {_RESAVE['fi']}",
        "sv": "En del av PDF-filen ({where}) packas upp till mer än {limit_mb} MB; högst {limit_mb} MB per del kan "
        f"skrivas ut här. {_RESAVE['sv']}",
        "en": "A part of the PDF ({where}) unpacks to more than {limit_mb} MB; at most {limit_mb} MB per part can "
        f"be printed here. {_RESAVE['en']}",
    }
    total: ClassVar[Messages] = {
        "fi": "PDF purkautuu kaikkiaan yli {limit_mb} Mt:n kokoiseksi; täällä voi tulostaa enintään {limit_mb} Mt. "
        "Jaa se osiin tai tallenna se pienemmin kuvin ja lähetä uudestaan.",
        "sv": "PDF-filen packas upp till mer än {limit_mb} MB sammanlagt; högst {limit_mb} MB kan skrivas ut här. "
        "Dela upp den eller spara den med mindre bilder och skicka igen.",
        "en": "The PDF unpacks to more than {limit_mb} MB in all; at most {limit_mb} MB can be printed here. "
        "Split it, or save it again with smaller images, and resend.",
    }

    def staff_message(self, language: Language) -> str:
        if self.params.get("scope") == "total":
            return self.total[language].format_map(_Params(self.params))
        return super().staff_message(language)


class TooComplex(InvalidDocument):
    """Checking the document took more memory (``limit=memory``) or processor time (``time``) than the
    gate's worker is allowed: a document built to exhaust the point, or one far too heavy to print."""

    code: ClassVar[DeviceErrorCode] = "too_complex"
    staff: ClassVar[Messages] = {
        "fi": "PDF:n tarkistus vaati enemmän muistia kuin {memory_mb} Mt, jonka tämä piste sallii; sitä ei "
        "tulosteta. Tallenna se uudelleen (esim. tulosta uudeksi PDF:ksi) tai jaa se osiin ja lähetä uudestaan.",
        "sv": "Kontrollen av PDF-filen krävde mer minne än de {memory_mb} MB som den här punkten tillåter; den "
        "skrivs inte ut. Spara den på nytt (t.ex. skriv ut den till en ny PDF) eller dela upp den och skicka igen.",
        "en": "Checking the PDF needed more memory than the {memory_mb} MB this point allows; it is not printed. "
        "Save it again (e.g. print it to a new PDF) or split it, and resend.",
    }
    time: ClassVar[Messages] = {
        "fi": "PDF:n tarkistus kesti kauemmin kuin {cpu_s} s suoritinaikaa, jonka tämä piste sallii; sitä ei "
        "tulosteta. Tallenna se uudelleen (esim. tulosta uudeksi PDF:ksi) tai jaa se osiin ja lähetä uudestaan.",
        "sv": "Kontrollen av PDF-filen tog längre än de {cpu_s} s processortid som den här punkten tillåter; den "
        "skrivs inte ut. Spara den på nytt (t.ex. skriv ut den till en ny PDF) eller dela upp den och skicka igen.",
        "en": "Checking the PDF took longer than the {cpu_s} s of processor time this point allows; it is not "
        "printed. Save it again (e.g. print it to a new PDF) or split it, and resend.",
    }

    def staff_message(self, language: Language) -> str:
        texts = self.time if self.params.get("limit") == "time" else self.staff
        return texts[language].format_map(_Params(self.params))


class UnsupportedImage(_Located):
    """A JBIG2 or JPEG 2000 image: codecs with a long record of exploitable decoder bugs, which the
    point's print filters would otherwise decode."""

    code: ClassVar[DeviceErrorCode] = "unsupported_image"
    staff: ClassVar[Messages] = {
        "fi": "PDF:ssä on {codec}-kuva ({where}), jota tämä piste ei tulosta. Tallenna se uudelleen tavallisin "
        "kuvin (esim. tulosta uudeksi PDF:ksi) ja lähetä uudestaan.",
        "sv": "PDF-filen har en {codec}-bild ({where}), som den här punkten inte skriver ut. Spara den på nytt med "
        "vanliga bilder (t.ex. skriv ut den till en ny PDF) och skicka igen.",
        "en": "The PDF has a {codec} image ({where}), which this point does not print. Save it again with "
        "ordinary images (e.g. print it to a new PDF) and resend.",
    }


class HasJavascript(_Located):
    code: ClassVar[DeviceErrorCode] = "has_javascript"
    staff: ClassVar[Messages] = {
        "fi": f"PDF sisältää JavaScriptiä ({{where}}), eikä sitä tulosteta täällä. {_RESAVE['fi']}",
        "sv": f"PDF-filen innehåller JavaScript ({{where}}) och skrivs inte ut här. {_RESAVE['sv']}",
        "en": f"The PDF contains JavaScript ({{where}}) and is not printed here. {_RESAVE['en']}",
    }


class HasEmbeddedFiles(_Located):
    code: ClassVar[DeviceErrorCode] = "has_embedded_files"
    staff: ClassVar[Messages] = {
        "fi": "PDF:n mukana on liitetiedostoja ({where}), eikä sitä tulosteta täällä. Poista liitteet (esim. "
        "tulosta uudeksi PDF:ksi) ja lähetä uudestaan.",
        "sv": "PDF-filen har bifogade filer ({where}) och skrivs inte ut här. Ta bort bilagorna (t.ex. skriv ut "
        "den till en ny PDF) och skicka igen.",
        "en": "The PDF carries attached files ({where}) and is not printed here. Remove the attachments (e.g. "
        "print it to a new PDF) and resend.",
    }


class HasLaunchAction(_Located):
    code: ClassVar[DeviceErrorCode] = "has_launch_action"
    staff: ClassVar[Messages] = {
        "fi": f"PDF yrittää käynnistää ohjelman ({{where}}: Launch-toiminto), eikä sitä tulosteta täällä. "
        f"{_RESAVE['fi']}",
        "sv": f"PDF-filen försöker starta ett program ({{where}}: en Launch-åtgärd) och skrivs inte ut här. "
        f"{_RESAVE['sv']}",
        "en": f"The PDF tries to start a program ({{where}}: a Launch action) and is not printed here. "
        f"{_RESAVE['en']}",
    }
