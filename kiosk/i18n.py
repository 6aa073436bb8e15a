"""The kiosk's words in Finnish, Swedish and English.

Customers read these, so they are short, plain and say what to do next. Every key must exist in all
three languages (a test checks). Formatting of times and dates follows each language's habit:
``10.00–20.00`` in Finnish and Swedish, ``10:00–20:00`` in English (24-hour clock throughout).
"""

from __future__ import annotations

import datetime as dt

from etapiste.hours import TimeRange
from etapiste.language import Language

TEXTS: dict[str, dict[Language, str]] = {
    "welcome": {"fi": "Tervetuloa", "sv": "Välkommen", "en": "Welcome"},
    "intro": {
        "fi": "Täällä voit asioida viranomaisen kanssa videoyhteydellä.",
        "sv": "Här kan du sköta ärenden med myndigheter via videosamtal.",
        "en": "Here you can talk to public services over a video call.",
    },
    "choose_language": {
        "fi": "Valitse kieli aloittaaksesi",
        "sv": "Välj språk för att börja",
        "en": "Choose a language to start",
    },
    "open_today": {"fi": "Avoinna tänään {hours}", "sv": "Öppet i dag {hours}", "en": "Open today {hours}"},
    "closed_today": {"fi": "Tänään suljettu", "sv": "Stängt i dag", "en": "Closed today"},
    "closed_title": {
        "fi": "Palvelupiste on nyt suljettu",
        "sv": "Servicepunkten är stängd nu",
        "en": "The service point is closed now",
    },
    "next_opening": {
        "fi": "Avaamme {when}",
        "sv": "Vi öppnar {when}",
        "en": "We open {when}",
    },
    "no_next_opening": {
        "fi": "Aukioloajat kysyt kirjaston henkilökunnalta.",
        "sv": "Fråga bibliotekets personal om öppettiderna.",
        "en": "Please ask the library staff for the opening hours.",
    },
    "out_of_service_title": {
        "fi": "Palvelupiste ei ole nyt käytössä",
        "sv": "Servicepunkten är inte i bruk just nu",
        "en": "The service point is not in use right now",
    },
    "out_of_service_help": {
        "fi": "Kysy neuvoa kirjaston henkilökunnalta.",
        "sv": "Fråga bibliotekets personal om hjälp.",
        "en": "Please ask the library staff for help.",
    },
    "accessibility": {"fi": "Saavutettavuus", "sv": "Tillgänglighet", "en": "Accessibility"},
    "larger_text": {"fi": "Suurempi teksti", "sv": "Större text", "en": "Larger text"},
    "normal_text": {"fi": "Normaali teksti", "sv": "Normal text", "en": "Normal text"},
    "devices_unavailable": {
        "fi": "Ei käytettävissä nyt: {devices}",
        "sv": "Inte tillgängligt nu: {devices}",
        "en": "Not available now: {devices}",
    },
    "device.camera": {"fi": "kamera", "sv": "kamera", "en": "camera"},
    "device.printer": {"fi": "tulostin", "sv": "skrivare", "en": "printer"},
    "device.scanner": {"fi": "skanneri", "sv": "skanner", "en": "scanner"},
    "device.card_reader": {"fi": "henkilökortin lukija", "sv": "id-kortsläsare", "en": "ID card reader"},
    "device.microphone": {"fi": "mikrofoni", "sv": "mikrofon", "en": "microphone"},
    "device.speaker": {"fi": "kaiutin", "sv": "högtalare", "en": "speaker"},
    "back": {"fi": "Takaisin", "sv": "Tillbaka", "en": "Back"},
    "continue": {"fi": "Jatka", "sv": "Fortsätt", "en": "Continue"},
    "cancel": {"fi": "Peruuta", "sv": "Avbryt", "en": "Cancel"},
    "ok": {"fi": "Selvä", "sv": "OK", "en": "OK"},
    "skip": {"fi": "Ohita", "sv": "Hoppa över", "en": "Skip"},
    "high_contrast": {"fi": "Suuri kontrasti", "sv": "Hög kontrast", "en": "High contrast"},
    "speech": {"fi": "Puhe", "sv": "Tal", "en": "Speech"},
    "speech_on": {"fi": "Puhe päällä", "sv": "Tal på", "en": "Speech on"},
    "more_time": {"fi": "Lisää aikaa", "sv": "Mer tid", "en": "More time"},
    "timeout_warning": {
        "fi": "Oletko vielä siellä? Palvelu päättyy {seconds} sekunnin kuluttua.",
        "sv": "Är du kvar? Tjänsten avslutas om {seconds} sekunder.",
        "en": "Are you still there? The service ends in {seconds} seconds.",
    },
    "choose_service": {"fi": "Kenen kanssa haluat asioida?", "sv": "Vem vill du tala med?", "en": "Who do you want to talk to?"},
    "choose_service_hint": {
        "fi": "Jos et tiedä, valitse Kansalaisneuvonta.",
        "sv": "Om du inte vet, välj Medborgarrådgivningen.",
        "en": "If you are not sure, choose Citizens' Advice.",
    },
    "producer_closed_until": {"fi": "Ei palvele nyt. Palvelee {when}.", "sv": "Betjänar inte nu. Öppnar {when}.",
                              "en": "Not serving now. Opens {when}."},
    "producer_closed": {"fi": "Ei palvele nyt.", "sv": "Betjänar inte nu.", "en": "Not serving now."},
    "estimate_minutes": {"fi": "Arvioitu odotus noin {minutes} min", "sv": "Beräknad väntetid cirka {minutes} min",
                         "en": "Estimated wait about {minutes} min"},
    "estimate_unknown": {"fi": "Odotusaikaa ei voi arvioida", "sv": "Väntetiden kan inte beräknas",
                         "en": "The wait cannot be estimated"},
    "notice_video": {
        "fi": "Asiakaspalvelija tulee näytölle videoyhteydellä. Hän näkee ja kuulee sinut.",
        "sv": "En kundtjänstmedarbetare syns på skärmen via video. Hen ser och hör dig.",
        "en": "A customer service agent will appear on the screen by video. They will see and hear you.",
    },
    "notice_not_recorded": {
        "fi": "Keskustelua ei tallenneta.",
        "sv": "Samtalet spelas inte in.",
        "en": "The conversation is not recorded.",
    },
    "notice_documents": {
        "fi": "Asiakirjat skannataan ja lähetetään vain, jos hyväksyt sen. Mitään ei jää tähän laitteeseen.",
        "sv": "Dokument skannas och skickas bara om du godkänner det. Ingenting blir kvar i apparaten.",
        "en": "Documents are scanned and sent only if you agree. Nothing stays on this machine.",
    },
    "queue_title": {"fi": "Odotat vuoroa: {producer}", "sv": "Du väntar på tur: {producer}",
                    "en": "You are waiting for: {producer}"},
    "queue_connecting": {"fi": "Yhdistetään…", "sv": "Ansluter…", "en": "Connecting…"},
    "queue_interrupted": {
        "fi": "Yhteys katkesi hetkeksi. Paikkasi jonossa säilyy – odota tässä, yhteys palaa itsestään.",
        "sv": "Förbindelsen bröts en stund. Din plats i kön finns kvar – vänta här, den kommer tillbaka av sig själv.",
        "en": "The connection was interrupted for a moment. You keep your place in the queue – please wait "
              "here, it comes back by itself.",
    },
    "queue_position": {"fi": "Olet jonossa {position}.", "sv": "Du är nummer {position} i kön.",
                       "en": "You are number {position} in the queue."},
    "ask_staff": {
        "fi": "Tarvitsetko apua? Kysy kirjaston henkilökunnalta.",
        "sv": "Behöver du hjälp? Fråga bibliotekets personal.",
        "en": "Need help? Ask the library staff.",
    },
    "cancel_queue": {"fi": "Lopeta odotus", "sv": "Sluta vänta", "en": "Stop waiting"},
    "call_connected": {"fi": "Yhteys muodostettu", "sv": "Ansluten", "en": "Connected"},
    "interpreter_joined": {"fi": "Tulkki on mukana puhelussa.", "sv": "En tolk deltar i samtalet.",
                           "en": "An interpreter has joined the call."},
    "call_reconnecting": {"fi": "Yhteys katkesi hetkeksi. Yhdistetään uudelleen…",
                          "sv": "Förbindelsen bröts en stund. Ansluter på nytt…",
                          "en": "The connection was interrupted. Reconnecting…"},
    "you": {"fi": "Sinä", "sv": "Du", "en": "You"},
    "agent": {"fi": "Virkailija", "sv": "Handläggare", "en": "Agent"},
    "type_here": {"fi": "Kirjoita tähän", "sv": "Skriv här", "en": "Type here"},
    "show_keyboard": {"fi": "Näppäimistö", "sv": "Tangentbord", "en": "Keyboard"},
    "hide_keyboard": {"fi": "Piilota näppäimistö", "sv": "Dölj tangentbordet", "en": "Hide keyboard"},
    "end_call": {"fi": "Lopeta puhelu", "sv": "Avsluta samtalet", "en": "End call"},
    "identify_title": {"fi": "Tunnistautuminen henkilökortilla", "sv": "Identifiering med id-kort",
                       "en": "Identification with your ID card"},
    "identify_insert_card": {"fi": "Aseta henkilökorttisi lukijaan.", "sv": "Sätt in ditt id-kort i läsaren.",
                             "en": "Put your ID card in the reader."},
    "identify_enter_pin": {"fi": "Näppäile PIN1-koodisi.", "sv": "Ange din PIN1-kod.", "en": "Enter your PIN1 code."},
    "identify_checking": {"fi": "Tarkistetaan…", "sv": "Kontrollerar…", "en": "Checking…"},
    "identify_done": {"fi": "Tunnistautuminen onnistui.", "sv": "Identifieringen lyckades.",
                      "en": "You have been identified."},
    "identify_failed": {"fi": "Tunnistautuminen ei onnistunut.", "sv": "Identifieringen misslyckades.",
                        "en": "Identification did not succeed."},
    "identify_remove_card": {"fi": "Valmis. Ota korttisi lukijasta.", "sv": "Klart. Ta ditt kort ur läsaren.",
                             "en": "Done. Take your card from the reader."},
    "tries_left": {"fi": "Yrityksiä jäljellä: {tries}", "sv": "Försök kvar: {tries}", "en": "Tries left: {tries}"},
    "error_wrong_pin": {"fi": "Väärä PIN-koodi.", "sv": "Fel PIN-kod.", "en": "Wrong PIN code."},
    "error_pin_blocked": {
        "fi": "PIN-koodi on lukittu. Avaa se PUK-koodilla poliisin palvelussa.",
        "sv": "PIN-koden är låst. Lås upp den med PUK-koden hos polisen.",
        "en": "The PIN code is locked. Unlock it with the PUK code at the police.",
    },
    "error_not_fineid": {"fi": "Tämä ei ole suomalainen henkilökortti.", "sv": "Det här är inte ett finskt id-kort.",
                         "en": "This is not a Finnish ID card."},
    "error_card_removed": {"fi": "Kortti otettiin pois kesken.", "sv": "Kortet togs ut för tidigt.",
                           "en": "The card was taken out too early."},
    "error_card_error": {"fi": "Korttia ei voitu lukea.", "sv": "Kortet kunde inte läsas.",
                         "en": "The card could not be read."},
    "error_internal_error": {"fi": "Tapahtui tekninen virhe. Virkailija on saanut siitä tiedon.",
                             "sv": "Ett tekniskt fel inträffade. Handläggaren har fått veta om det.",
                             "en": "A technical error occurred. The agent has been told."},
    "scan_title": {"fi": "Asiakirjan skannaus", "sv": "Skanning av dokument", "en": "Scanning a document"},
    "scan_place_paper": {
        "fi": "Aseta paperi skanneriin teksti alaspäin ja paina Skannaa.",
        "sv": "Lägg papperet i skannern med texten nedåt och tryck Skanna.",
        "en": "Place the paper in the scanner face down and press Scan.",
    },
    "scan_scanning": {"fi": "Skannataan… sivuja {pages}", "sv": "Skannar… sidor {pages}", "en": "Scanning… pages {pages}"},
    "scan_preview": {
        "fi": "Tarkista kuva. Lähetetäänkö {pages} sivua virkailijalle?",
        "sv": "Kontrollera bilden. Ska {pages} sidor skickas till handläggaren?",
        "en": "Check the picture. Send {pages} pages to the agent?",
    },
    "scan_blank": {"fi": "Tyhjiä sivuja jätetään pois: {blank}", "sv": "Tomma sidor lämnas bort: {blank}",
                   "en": "Blank pages left out: {blank}"},
    "scan_sending": {"fi": "Lähetetään…", "sv": "Skickar…", "en": "Sending…"},
    "scan_sent": {"fi": "Lähetetty. Muista ottaa paperisi skannerista.", "sv": "Skickat. Kom ihåg dina papper i skannern.",
                  "en": "Sent. Remember to take your papers from the scanner."},
    "scan_failed": {"fi": "Skannaus ei onnistunut.", "sv": "Skanningen misslyckades.", "en": "Scanning did not succeed."},
    "scan_start": {"fi": "Skannaa", "sv": "Skanna", "en": "Scan"},
    "scan_send": {"fi": "Lähetä", "sv": "Skicka", "en": "Send"},
    "scan_dont_send": {"fi": "Älä lähetä", "sv": "Skicka inte", "en": "Don't send"},
    "print_title": {"fi": "Tulostus", "sv": "Utskrift", "en": "Printing"},
    "print_printing": {"fi": "Virkailija lähetti sinulle asiakirjan ({pages} sivua). Tulostetaan…",
                       "sv": "Handläggaren skickade ett dokument ({pages} sidor). Skriver ut…",
                       "en": "The agent sent you a document ({pages} pages). Printing…"},
    "print_done": {"fi": "Valmis. Ota tulosteesi tulostimesta.", "sv": "Klart. Ta din utskrift från skrivaren.",
                   "en": "Done. Take your printout from the printer."},
    "print_failed": {"fi": "Tulostus ei onnistunut. Virkailija tietää tästä.",
                     "sv": "Utskriften misslyckades. Handläggaren vet om det.",
                     "en": "Printing did not succeed. The agent knows about it."},
    "thanks": {"fi": "Kiitos käynnistä", "sv": "Tack för besöket", "en": "Thank you for your visit"},
    "reminders": {
        "fi": "Muista ottaa mukaasi henkilökorttisi, paperisi skannerista ja tulosteesi.",
        "sv": "Kom ihåg att ta med ditt id-kort, dina papper från skannern och dina utskrifter.",
        "en": "Remember to take your ID card, your papers from the scanner and your printouts.",
    },
    "survey_question": {"fi": "Kuinka tyytyväinen olit palveluun?", "sv": "Hur nöjd var du med tjänsten?",
                        "en": "How satisfied were you with the service?"},
    "rating_1": {"fi": "huono", "sv": "dålig", "en": "poor"},
    "rating_2": {"fi": "välttävä", "sv": "försvarlig", "en": "fair"},
    "rating_3": {"fi": "kohtalainen", "sv": "medelmåttig", "en": "average"},
    "rating_4": {"fi": "hyvä", "sv": "bra", "en": "good"},
    "rating_5": {"fi": "erinomainen", "sv": "utmärkt", "en": "excellent"},
    "ended_network": {"fi": "Yhteys katkesi eikä palannut.", "sv": "Förbindelsen bröts och kom inte tillbaka.",
                      "en": "The connection was lost and did not come back."},
    "ended_queue_timeout": {"fi": "Kukaan ei ehtinyt vastata. Yritä myöhemmin uudelleen.",
                            "sv": "Ingen hann svara. Försök igen senare.",
                            "en": "Nobody could answer in time. Please try again later."},
    "ended_queue_closed": {"fi": "Palveluaika päättyi ennen vuoroasi.", "sv": "Betjäningstiden tog slut före din tur.",
                           "en": "The service hours ended before your turn."},
    "ended_queue_unavailable": {"fi": "Yhteys palveluun ei nyt toimi. Kysy neuvoa kirjaston henkilökunnalta.",
                                "sv": "Anslutningen till tjänsten fungerar inte nu. Fråga bibliotekets personal.",
                                "en": "The connection to the service is not working now. Please ask the library staff."},
    "ended_queue_network_lost": {
        "fi": "Yhteys katkesi jonottaessa eikä palannut ajoissa. Yritä hetken päästä uudelleen.",
        "sv": "Förbindelsen bröts medan du köade och kom inte tillbaka i tid. Försök igen om en stund.",
        "en": "The connection was lost while you waited and did not come back in time. Please try again shortly.",
    },
    "ended_other": {"fi": "Puhelu päättyi.", "sv": "Samtalet avslutades.", "en": "The call ended."},
    "staff_title": {"fi": "Henkilökunta", "sv": "Personal", "en": "Staff"},
    "staff_enter_pin": {"fi": "Henkilökunnan PIN-koodi", "sv": "Personalens PIN-kod", "en": "Staff PIN code"},
    "staff_wrong_pin": {"fi": "Väärä PIN-koodi.", "sv": "Fel PIN-kod.", "en": "Wrong PIN code."},
    "staff_locked": {"fi": "Liian monta väärää yritystä. Yritä 5 minuutin kuluttua.",
                     "sv": "För många felaktiga försök. Försök igen om 5 minuter.",
                     "en": "Too many wrong tries. Try again in 5 minutes."},
    "staff_close": {"fi": "Sulje", "sv": "Stäng", "en": "Close"},
    "staff_out_of_service": {"fi": "Poista käytöstä", "sv": "Ta ur bruk", "en": "Take out of service"},
    "staff_back_in_service": {"fi": "Palauta käyttöön", "sv": "Ta i bruk", "en": "Put back in service"},
    "staff_message": {"fi": "Viesti asiakkaille", "sv": "Meddelande till kunderna", "en": "Message to customers"},
    "staff_test_print": {"fi": "Testitulostus", "sv": "Testutskrift", "en": "Test print"},
    "staff_test_scan": {"fi": "Testiskannaus", "sv": "Testskanning", "en": "Test scan"},
    "staff_test_av": {"fi": "Kamera- ja mikrofonitesti", "sv": "Kamera- och mikrofontest", "en": "Camera and microphone test"},
    "staff_sessions_today": {"fi": "Asiointeja tänään: {count}", "sv": "Besök i dag: {count}",
                             "en": "Sessions today: {count}"},
    "staff_support": {"fi": "Tuki: {contact}", "sv": "Support: {contact}", "en": "Support: {contact}"},
    "health_ok": {"fi": "kunnossa", "sv": "fungerar", "en": "working"},
    "health_fault": {"fi": "vika", "sv": "fel", "en": "fault"},
    "health_missing": {"fi": "ei löydy", "sv": "saknas", "en": "missing"},
    "health_unknown": {"fi": "ei tiedossa", "sv": "okänt", "en": "unknown"},
    "device.switchboard": {"fi": "yhteys palveluun", "sv": "anslutning till tjänsten", "en": "service connection"},
    "device.broker": {"fi": "etähallinta", "sv": "fjärrhantering", "en": "remote management"},
    "staff_locked_until": {"fi": "Liian monta väärää PIN-koodia. Henkilökuntatila on lukittu klo {time} asti.",
                           "sv": "För många fel PIN-koder. Personalläget är låst till kl. {time}.",
                           "en": "Too many wrong PIN codes. Staff mode is locked until {time}."},
}

#: The language's own name, as written on its button.
LANGUAGE_NAMES: dict[Language, str] = {"fi": "Suomi", "sv": "Svenska", "en": "English"}

_WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "fi": ("maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina", "sunnuntaina"),
    "sv": ("på måndag", "på tisdag", "på onsdag", "på torsdag", "på fredag", "på lördag", "på söndag"),
    "en": ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday"),
}
_TODAY: dict[Language, str] = {"fi": "tänään", "sv": "i dag", "en": "today"}
_TOMORROW: dict[Language, str] = {"fi": "huomenna", "sv": "i morgon", "en": "tomorrow"}
_AT: dict[Language, str] = {"fi": "klo", "sv": "kl.", "en": "at"}


def text(key: str, language: Language, default: str | None = None, **values: object) -> str:
    """The text for ``key`` in ``language`` with ``{placeholders}`` filled in; ``default`` (already in the
    right language) when the key is unknown, e.g. a device error code without a text of its own."""
    versions = TEXTS.get(key)
    if versions is None:
        if default is None:
            raise KeyError(key)
        return default
    return versions[language].format(**values)


def clock(t: dt.time, language: Language) -> str:
    sep = ":" if language == "en" else "."
    return f"{t.hour:02d}{sep}{t.minute:02d}" if language == "en" else f"{t.hour}{sep}{t.minute:02d}"


def period(r: TimeRange, language: Language) -> str:
    end = "24:00" if r.end is None and language == "en" else ("24.00" if r.end is None else clock(r.end, language))
    return f"{clock(r.start, language)}–{end}"


def periods(ranges: list[TimeRange], language: Language) -> str:
    return ", ".join(period(r, language) for r in ranges)


def when(start: dt.datetime, now: dt.datetime, language: Language) -> str:
    """A future moment in words: "tänään klo 10.00", "on Monday at 10:00", "6.1. klo 10.00"."""
    days = (start.date() - now.date()).days
    if days == 0:
        day = _TODAY[language]
    elif days == 1:
        day = _TOMORROW[language]
    elif days < 7:
        day = _WEEKDAYS[language][start.weekday()]
    elif language == "en":
        day = f"on {start.day} {start.strftime('%B')}"
    else:
        day = f"{start.day}.{start.month}."
    return f"{day} {_AT[language]} {clock(start.time(), language)}"
