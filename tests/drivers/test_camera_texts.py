"""A camera fault's customer text promises the staff were told only as far as the host's ``{staff_told}``
allows, like every other device fault: the kiosk fills it with "ask the staff" until the organiser's notifier
accepted the alert (etapiste/host.py ``fill_host(told=...)``), never a fixed "The staff have been told."."""

from __future__ import annotations

import pytest

from drivers.camera import CameraError, CameraMissing, CameraUnplugged
from etapiste import texts
from etapiste.host import fill_host, host_words
from etapiste.language import LANGUAGES, Language


@pytest.mark.parametrize("fault", [CameraError, CameraMissing, CameraUnplugged])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_camera_fault_says_the_staff_know_only_once_they_were_told(fault: type[CameraError], lang: Language) -> None:
    said = fault("/dev/video0").customer_message(lang)
    told = host_words("library", lang)["staff_told"]
    generic = texts.text("host.other.staff_told", lang)
    not_yet = fill_host(said, "library", lang, told=False)
    assert told not in not_yet and generic not in not_yet
    assert texts.text("kiosk.staff_not_told", lang, staff=host_words("library", lang)["staff"]) in not_yet
    assert fill_host(said, "library", lang, told=True).endswith(told)
