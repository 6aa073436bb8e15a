"""The privacy information before a call (issue 21, item 10): the notice names who is responsible (the producer
for the call, the organiser for the room), what is processed and for how long, shows a QR code to each full
privacy notice, and prints it all on request through the point's real printer (a private cupsd)."""

from __future__ import annotations

import datetime as dt
import io

import pikepdf
import pytest
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from drivers.printer import Printer
from etapiste.config.loader import ConfigError
from etapiste.config.point import PointConfig, PrinterConfig, load_point_config, parse_point_config
from etapiste.language import LANGUAGES
from kiosk.journey import Journey
from kiosk.privacy_notice import qr_modules
from kiosk.session import Session, State
from kiosk.views.journey import qr_pixmap
from kiosk.views.window import KioskWindow, screen_text
from simulation.services.cups import PrivateCupsd

MOMENT = dt.datetime.fromisoformat("2026-11-30T12:00")


def _at_notice(qtbot: QtBot, config: PointConfig, printer: Printer | None = None) -> tuple[KioskWindow, Session]:
    session = Session(config, lambda: MOMENT)
    journey = Journey(session, None, printer=printer)
    window = KioskWindow(session, kiosk_mode=False, actions=journey)  # the controller carries out the screens' asks
    window._journey = journey  # type: ignore[attr-defined]  # kept alive with the window
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    session.choose_language("fi")
    session.choose_producer("kela")
    assert session.state is State.NOTICE
    return window, session


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notice_says_who_is_responsible_what_is_processed_and_for_how_long(qtbot: QtBot, language: str) -> None:
    config = load_point_config()
    window, session = _at_notice(qtbot, config)
    session.set_language(language)  # type: ignore[arg-type]
    notice = window.notice
    kela = config.producer("kela")
    assert config.organiser is not None
    said = screen_text(notice)  # what the customer reads, and hears with speech on
    assert f"{kela.name.in_(language)} " in said  # responsible for the call
    assert config.organiser.name.in_(language) in said  # responsible for the room
    shown = [w.text() for w in notice.privacy if w.isVisible()]
    assert len(shown) == 4
    assert shown[2].split(":")[0] in {"Processed", "Käsitellään", "Behandlas"}
    assert shown[3].split(":")[0] in {"How long", "Kuinka kauan", "Hur länge"}
    # One QR code to each full notice, captioned with whose it is.
    assert [c.text() for c in notice.qr_captions] == [kela.name.in_(language), config.organiser.name.in_(language)]
    assert all(code.isVisible() and not code.pixmap().isNull() for code in notice.qr_codes)


@pytest.mark.parametrize("language", LANGUAGES)
def test_continue_stays_on_the_first_screenful_at_normal_text_size(qtbot: QtBot, language: str) -> None:
    """All of it on a 1280×1024 screen, with the print button and its status shown: nobody has to scroll
    to find Continue (large text may scroll: the page then has a scroll bar, as every screen does)."""

    class Printing:
        def __getattr__(self, name: str) -> object:
            return lambda *args, **kwargs: None

    session = Session(load_point_config(), lambda: MOMENT)
    window = KioskWindow(session, kiosk_mode=False, actions=Printing())  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    qtbot.waitExposed(window)
    session.choose_language(language)  # type: ignore[arg-type]
    session.choose_producer("kela")
    session.privacy_printout("printed")
    notice = window.notice
    for widget in (notice.go, notice.back, notice.print_privacy, notice.printout, *notice.qr_codes):
        assert widget.isVisible()
        assert widget.visibleRegion().boundingRect().size() == widget.size(), widget.objectName()


def test_each_qr_code_is_the_configured_address(qtbot: QtBot) -> None:
    config = load_point_config()
    window, _ = _at_notice(qtbot, config)
    assert config.organiser is not None
    for code, url in zip(window.notice.qr_codes, [config.producer("kela").privacy_url, config.organiser.privacy_url],
                         strict=True):  # fmt: skip
        assert url is not None
        image = code.pixmap().toImage()
        modules = qr_modules(url)
        scale = image.width() // (len(modules) + 8)
        drawn = [
            [QColor(image.pixel((x + 4) * scale + scale // 2, (y + 4) * scale + scale // 2)).value() < 128
             for x in range(len(modules))]
            for y in range(len(modules))
        ]  # fmt: skip
        assert drawn == modules
        assert qr_pixmap(url).width() == image.width() <= 200


def test_without_an_organiser_or_addresses_the_notice_names_the_producer_only(qtbot: QtBot) -> None:
    sample = load_point_config()
    kela = sample.producer("kela").model_copy(update={"privacy_url": None})
    config = sample.model_copy(update={"organiser": None, "producers": [kela, *sample.producers[1:]]})
    window, _ = _at_notice(qtbot, config)
    shown = [w.text() for w in window.notice.privacy if w.isVisible()]
    assert len(shown) == 3 and shown[0].startswith("Kela vastaa")
    assert not any(code.isVisible() for code in window.notice.qr_codes)
    assert not window.notice.privacy_more.isVisible()


def _words(obj: pikepdf.Object) -> bytes:
    """Every content stream of a page and of the forms it draws (cupsd's filters wrap the page in one)."""
    out = b""
    contents = obj.get("/Contents")
    if contents is not None:
        out += b"".join(c.read_bytes() for c in (contents if isinstance(contents, pikepdf.Array) else [contents]))
    if obj.get("/Subtype") == "/Form":
        out += obj.read_bytes()
    for xobject in obj.get("/Resources", {}).get("/XObject", {}).values():
        out += _words(xobject)
    return out


def _with(changes: str) -> str:
    return load_point_config().model_dump_json(by_alias=True).replace(
        '"privacy_url":"https://kela.example.invalid/tietosuoja"', changes, 1
    )


@pytest.mark.parametrize(
    "url", ["http://kela.example.invalid/tietosuoja", "kela.fi", "https://", "https://kela.fi/ tietosuoja",
            "https://kela.fi/" + "x" * 300],
)  # fmt: skip
def test_a_privacy_address_that_is_not_https_or_too_long_for_a_qr_code_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_point_config(_with(f'"privacy_url":"{url}"'))
    (problem,) = caught.value.problems
    assert problem.field == "producers.0.privacy_url"


async def test_the_privacy_information_is_printed_on_request(qtbot: QtBot, cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
    config = load_point_config()
    window, session = _at_notice(qtbot, config, printer)
    session.set_language("sv")
    assert window.notice.print_privacy.isVisible()
    window.notice.print_privacy.click()
    assert session.snapshot.privacy_printout == "printing"
    assert not window.notice.print_privacy.isEnabled()  # a second press does not print it twice
    journey: Journey = window._journey  # type: ignore[attr-defined]
    await journey.idle()
    assert session.snapshot.privacy_printout == "printed"
    assert window.notice.printout.text() == "Utskriven. Ta sidan från skrivaren."
    (output,) = queue.wait_for_jobs(1)
    data = output.read_bytes()
    with pikepdf.open(io.BytesIO(data[data.index(b"%PDF") :])) as pdf:
        (page,) = pdf.pages
        text = _words(page.obj).decode("cp1252")
    assert "FPA ansvarar" in text and "https://kela.example.invalid/tietosuoja" in text
    assert "Distansservicepunkternas organisat" in text
    assert cupsd.job_ids() == [] and cupsd.spool_files() == []


def test_with_speech_on_the_printouts_outcome_is_said(qtbot: QtBot) -> None:
    window, session = _at_notice(qtbot, load_point_config())
    said: list[str] = []
    window.speak.connect(lambda text, lang: said.append(text))
    session.set_speech(True)
    session.privacy_printout("printing")
    session.privacy_printout("failed")
    assert "Tulostus ei onnistunut. Kysy neuvoa kirjaston henkilökunnalta" in said[-1]
