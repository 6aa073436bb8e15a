<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fi_FI" sourcelanguage="en_GB">
<context>
    <name>kiosk</name>
    <message id="welcome">
        <source>Welcome</source>
        <comment>welcome</comment>
        <translation>Tervetuloa</translation>
    </message>
    <message id="intro">
        <source>Here you can talk to public services over a video call.</source>
        <comment>intro</comment>
        <translation>Täällä voit asioida viranomaisen kanssa videoyhteydellä.</translation>
    </message>
    <message id="choose_language">
        <source>Choose a language to start</source>
        <comment>choose_language</comment>
        <translation>Valitse kieli aloittaaksesi</translation>
    </message>
    <message id="open_today">
        <source>Open today {hours}</source>
        <comment>open_today</comment>
        <translation>Avoinna tänään {hours}</translation>
    </message>
    <message id="closed_today">
        <source>Closed today</source>
        <comment>closed_today</comment>
        <translation>Tänään suljettu</translation>
    </message>
    <message id="closed_title">
        <source>The service point is closed now</source>
        <comment>closed_title</comment>
        <translation>Palvelupiste on nyt suljettu</translation>
    </message>
    <message id="next_opening">
        <source>We open {when}</source>
        <comment>next_opening</comment>
        <translation>Avaamme {when}</translation>
    </message>
    <message id="no_next_opening">
        <source>Please ask the library staff for the opening hours.</source>
        <comment>no_next_opening</comment>
        <translation>Aukioloajat kysyt kirjaston henkilökunnalta.</translation>
    </message>
    <message id="out_of_service_title">
        <source>The service point is not in use right now</source>
        <comment>out_of_service_title</comment>
        <translation>Palvelupiste ei ole nyt käytössä</translation>
    </message>
    <message id="out_of_service_help">
        <source>Please ask the library staff for help.</source>
        <comment>out_of_service_help</comment>
        <translation>Kysy neuvoa kirjaston henkilökunnalta.</translation>
    </message>
    <message id="accessibility">
        <source>Accessibility</source>
        <comment>accessibility</comment>
        <translation>Saavutettavuus</translation>
    </message>
    <message id="larger_text">
        <source>Larger text</source>
        <comment>larger_text</comment>
        <translation>Suurempi teksti</translation>
    </message>
    <message id="normal_text">
        <source>Normal text</source>
        <comment>normal_text</comment>
        <translation>Normaali teksti</translation>
    </message>
    <message id="devices_unavailable">
        <source>Not available now: {devices}</source>
        <comment>devices_unavailable</comment>
        <translation>Ei käytettävissä nyt: {devices}</translation>
    </message>
    <message id="device.camera">
        <source>camera</source>
        <comment>device.camera</comment>
        <translation>kamera</translation>
    </message>
    <message id="device.printer">
        <source>printer</source>
        <comment>device.printer</comment>
        <translation>tulostin</translation>
    </message>
    <message id="device.scanner">
        <source>scanner</source>
        <comment>device.scanner</comment>
        <translation>skanneri</translation>
    </message>
    <message id="device.card_reader">
        <source>ID card reader</source>
        <comment>device.card_reader</comment>
        <translation>henkilökortin lukija</translation>
    </message>
    <message id="device.microphone">
        <source>microphone</source>
        <comment>device.microphone</comment>
        <translation>mikrofoni</translation>
    </message>
    <message id="device.speaker">
        <source>speaker</source>
        <comment>device.speaker</comment>
        <translation>kaiutin</translation>
    </message>
    <message id="back">
        <source>Back</source>
        <comment>back</comment>
        <translation>Takaisin</translation>
    </message>
    <message id="continue">
        <source>Continue</source>
        <comment>continue</comment>
        <translation>Jatka</translation>
    </message>
    <message id="cancel">
        <source>Cancel</source>
        <comment>cancel</comment>
        <translation>Peruuta</translation>
    </message>
    <message id="ok">
        <source>OK</source>
        <comment>ok</comment>
        <translation>Selvä</translation>
    </message>
    <message id="skip">
        <source>Skip</source>
        <comment>skip</comment>
        <translation>Ohita</translation>
    </message>
    <message id="high_contrast">
        <source>High contrast</source>
        <comment>high_contrast</comment>
        <translation>Suuri kontrasti</translation>
    </message>
    <message id="speech">
        <source>Speech</source>
        <comment>speech</comment>
        <translation>Puhe</translation>
    </message>
    <message id="speech_on">
        <source>Speech on</source>
        <comment>speech_on</comment>
        <translation>Puhe päällä</translation>
    </message>
    <message id="more_time">
        <source>More time</source>
        <comment>more_time</comment>
        <translation>Lisää aikaa</translation>
    </message>
    <message id="timeout_warning">
        <source>Are you still there? The service ends in {seconds} seconds.</source>
        <comment>timeout_warning</comment>
        <translation>Oletko vielä siellä? Palvelu päättyy {seconds} sekunnin kuluttua.</translation>
    </message>
    <message id="choose_service">
        <source>Who do you want to talk to?</source>
        <comment>choose_service</comment>
        <translation>Kenen kanssa haluat asioida?</translation>
    </message>
    <message id="choose_service_hint">
        <source>If you are not sure, choose Citizens' Advice.</source>
        <comment>choose_service_hint</comment>
        <translation>Jos et tiedä, valitse Kansalaisneuvonta.</translation>
    </message>
    <message id="producer_closed_until">
        <source>Not serving now. Opens {when}.</source>
        <comment>producer_closed_until</comment>
        <translation>Ei palvele nyt. Palvelee {when}.</translation>
    </message>
    <message id="producer_closed">
        <source>Not serving now.</source>
        <comment>producer_closed</comment>
        <translation>Ei palvele nyt.</translation>
    </message>
    <message id="estimate_minutes">
        <source>Estimated wait about {minutes} min</source>
        <comment>estimate_minutes</comment>
        <translation>Arvioitu odotus noin {minutes} min</translation>
    </message>
    <message id="estimate_unknown">
        <source>The wait cannot be estimated</source>
        <comment>estimate_unknown</comment>
        <translation>Odotusaikaa ei voi arvioida</translation>
    </message>
    <message id="notice_video">
        <source>A customer service agent will appear on the screen by video. They will see and hear you.</source>
        <comment>notice_video</comment>
        <translation>Asiakaspalvelija tulee näytölle videoyhteydellä. Hän näkee ja kuulee sinut.</translation>
    </message>
    <message id="notice_not_recorded">
        <source>The conversation is not recorded.</source>
        <comment>notice_not_recorded</comment>
        <translation>Keskustelua ei tallenneta.</translation>
    </message>
    <message id="notice_documents">
        <source>Documents are scanned and sent only if you agree. Nothing stays on this machine.</source>
        <comment>notice_documents</comment>
        <translation>Asiakirjat skannataan ja lähetetään vain, jos hyväksyt sen. Mitään ei jää tähän laitteeseen.</translation>
    </message>
    <message id="queue_title">
        <source>You are waiting for: {producer}</source>
        <comment>queue_title</comment>
        <translation>Odotat vuoroa: {producer}</translation>
    </message>
    <message id="queue_connecting">
        <source>Connecting…</source>
        <comment>queue_connecting</comment>
        <translation>Yhdistetään…</translation>
    </message>
    <message id="queue_interrupted">
        <source>The connection was interrupted for a moment. You keep your place in the queue – please wait here, it comes back by itself.</source>
        <comment>queue_interrupted</comment>
        <translation>Yhteys katkesi hetkeksi. Paikkasi jonossa säilyy – odota tässä, yhteys palaa itsestään.</translation>
    </message>
    <message id="queue_position">
        <source>You are number {position} in the queue.</source>
        <comment>queue_position</comment>
        <translation>Olet jonossa {position}.</translation>
    </message>
    <message id="ask_staff">
        <source>Need help? Ask the library staff.</source>
        <comment>ask_staff</comment>
        <translation>Tarvitsetko apua? Kysy kirjaston henkilökunnalta.</translation>
    </message>
    <message id="cancel_queue">
        <source>Stop waiting</source>
        <comment>cancel_queue</comment>
        <translation>Lopeta odotus</translation>
    </message>
    <message id="call_connected">
        <source>Connected</source>
        <comment>call_connected</comment>
        <translation>Yhteys muodostettu</translation>
    </message>
    <message id="interpreter_joined">
        <source>An interpreter has joined the call.</source>
        <comment>interpreter_joined</comment>
        <translation>Tulkki on mukana puhelussa.</translation>
    </message>
    <message id="call_reconnecting">
        <source>The connection was interrupted. Reconnecting…</source>
        <comment>call_reconnecting</comment>
        <translation>Yhteys katkesi hetkeksi. Yhdistetään uudelleen…</translation>
    </message>
    <message id="you">
        <source>You</source>
        <comment>you</comment>
        <translation>Sinä</translation>
    </message>
    <message id="agent">
        <source>Agent</source>
        <comment>agent</comment>
        <translation>Virkailija</translation>
    </message>
    <message id="type_here">
        <source>Type here</source>
        <comment>type_here</comment>
        <translation>Kirjoita tähän</translation>
    </message>
    <message id="show_keyboard">
        <source>Keyboard</source>
        <comment>show_keyboard</comment>
        <translation>Näppäimistö</translation>
    </message>
    <message id="hide_keyboard">
        <source>Hide keyboard</source>
        <comment>hide_keyboard</comment>
        <translation>Piilota näppäimistö</translation>
    </message>
    <message id="end_call">
        <source>End call</source>
        <comment>end_call</comment>
        <translation>Lopeta puhelu</translation>
    </message>
    <message id="identify_title">
        <source>Identification with your ID card</source>
        <comment>identify_title</comment>
        <translation>Tunnistautuminen henkilökortilla</translation>
    </message>
    <message id="identify_insert_card">
        <source>Put your ID card in the reader.</source>
        <comment>identify_insert_card</comment>
        <translation>Aseta henkilökorttisi lukijaan.</translation>
    </message>
    <message id="identify_enter_pin">
        <source>Enter your PIN1 code.</source>
        <comment>identify_enter_pin</comment>
        <translation>Näppäile PIN1-koodisi.</translation>
    </message>
    <message id="identify_checking">
        <source>Checking…</source>
        <comment>identify_checking</comment>
        <translation>Tarkistetaan…</translation>
    </message>
    <message id="identify_done">
        <source>You have been identified.</source>
        <comment>identify_done</comment>
        <translation>Tunnistautuminen onnistui.</translation>
    </message>
    <message id="identify_failed">
        <source>Identification did not succeed.</source>
        <comment>identify_failed</comment>
        <translation>Tunnistautuminen ei onnistunut.</translation>
    </message>
    <message id="identify_remove_card">
        <source>Done. Take your card from the reader.</source>
        <comment>identify_remove_card</comment>
        <translation>Valmis. Ota korttisi lukijasta.</translation>
    </message>
    <message id="tries_left">
        <source>Tries left: {tries}</source>
        <comment>tries_left</comment>
        <translation>Yrityksiä jäljellä: {tries}</translation>
    </message>
    <message id="error_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>error_wrong_pin</comment>
        <translation>Väärä PIN-koodi.</translation>
    </message>
    <message id="error_pin_blocked">
        <source>The PIN code is locked. Unlock it with the PUK code at the police.</source>
        <comment>error_pin_blocked</comment>
        <translation>PIN-koodi on lukittu. Avaa se PUK-koodilla poliisin palvelussa.</translation>
    </message>
    <message id="error_not_fineid">
        <source>This is not a Finnish ID card.</source>
        <comment>error_not_fineid</comment>
        <translation>Tämä ei ole suomalainen henkilökortti.</translation>
    </message>
    <message id="error_card_removed">
        <source>The card was taken out too early.</source>
        <comment>error_card_removed</comment>
        <translation>Kortti otettiin pois kesken.</translation>
    </message>
    <message id="error_card_error">
        <source>The card could not be read.</source>
        <comment>error_card_error</comment>
        <translation>Korttia ei voitu lukea.</translation>
    </message>
    <message id="error_internal_error">
        <source>A technical error occurred. The agent has been told.</source>
        <comment>error_internal_error</comment>
        <translation>Tapahtui tekninen virhe. Virkailija on saanut siitä tiedon.</translation>
    </message>
    <message id="scan_title">
        <source>Scanning a document</source>
        <comment>scan_title</comment>
        <translation>Asiakirjan skannaus</translation>
    </message>
    <message id="scan_place_paper">
        <source>Place the paper in the scanner face down and press Scan.</source>
        <comment>scan_place_paper</comment>
        <translation>Aseta paperi skanneriin teksti alaspäin ja paina Skannaa.</translation>
    </message>
    <message id="scan_scanning">
        <source>Scanning… pages {pages}</source>
        <comment>scan_scanning</comment>
        <translation>Skannataan… sivuja {pages}</translation>
    </message>
    <message id="scan_preview">
        <source>Check the picture. Send {pages} pages to the agent?</source>
        <comment>scan_preview</comment>
        <translation>Tarkista kuva. Lähetetäänkö {pages} sivua virkailijalle?</translation>
    </message>
    <message id="scan_blank">
        <source>Blank pages left out: {blank}</source>
        <comment>scan_blank</comment>
        <translation>Tyhjiä sivuja jätetään pois: {blank}</translation>
    </message>
    <message id="scan_sending">
        <source>Sending…</source>
        <comment>scan_sending</comment>
        <translation>Lähetetään…</translation>
    </message>
    <message id="scan_sent">
        <source>Sent. Remember to take your papers from the scanner.</source>
        <comment>scan_sent</comment>
        <translation>Lähetetty. Muista ottaa paperisi skannerista.</translation>
    </message>
    <message id="scan_failed">
        <source>Scanning did not succeed.</source>
        <comment>scan_failed</comment>
        <translation>Skannaus ei onnistunut.</translation>
    </message>
    <message id="scan_start">
        <source>Scan</source>
        <comment>scan_start</comment>
        <translation>Skannaa</translation>
    </message>
    <message id="scan_send">
        <source>Send</source>
        <comment>scan_send</comment>
        <translation>Lähetä</translation>
    </message>
    <message id="scan_dont_send">
        <source>Don't send</source>
        <comment>scan_dont_send</comment>
        <translation>Älä lähetä</translation>
    </message>
    <message id="print_title">
        <source>Printing</source>
        <comment>print_title</comment>
        <translation>Tulostus</translation>
    </message>
    <message id="print_printing">
        <source>The agent sent you a document ({pages} pages). Printing…</source>
        <comment>print_printing</comment>
        <translation>Virkailija lähetti sinulle asiakirjan ({pages} sivua). Tulostetaan…</translation>
    </message>
    <message id="print_done">
        <source>Done. Take your printout from the printer.</source>
        <comment>print_done</comment>
        <translation>Valmis. Ota tulosteesi tulostimesta.</translation>
    </message>
    <message id="print_failed">
        <source>Printing did not succeed. The agent knows about it.</source>
        <comment>print_failed</comment>
        <translation>Tulostus ei onnistunut. Virkailija tietää tästä.</translation>
    </message>
    <message id="thanks">
        <source>Thank you for your visit</source>
        <comment>thanks</comment>
        <translation>Kiitos käynnistä</translation>
    </message>
    <message id="reminders">
        <source>Remember to take your ID card, your papers from the scanner and your printouts.</source>
        <comment>reminders</comment>
        <translation>Muista ottaa mukaasi henkilökorttisi, paperisi skannerista ja tulosteesi.</translation>
    </message>
    <message id="survey_question">
        <source>How satisfied were you with the service?</source>
        <comment>survey_question</comment>
        <translation>Kuinka tyytyväinen olit palveluun?</translation>
    </message>
    <message id="rating_1">
        <source>poor</source>
        <comment>rating_1</comment>
        <translation>huono</translation>
    </message>
    <message id="rating_2">
        <source>fair</source>
        <comment>rating_2</comment>
        <translation>välttävä</translation>
    </message>
    <message id="rating_3">
        <source>average</source>
        <comment>rating_3</comment>
        <translation>kohtalainen</translation>
    </message>
    <message id="rating_4">
        <source>good</source>
        <comment>rating_4</comment>
        <translation>hyvä</translation>
    </message>
    <message id="rating_5">
        <source>excellent</source>
        <comment>rating_5</comment>
        <translation>erinomainen</translation>
    </message>
    <message id="ended_network">
        <source>The connection was lost and did not come back.</source>
        <comment>ended_network</comment>
        <translation>Yhteys katkesi eikä palannut.</translation>
    </message>
    <message id="ended_queue_timeout">
        <source>Nobody could answer in time. Please try again later.</source>
        <comment>ended_queue_timeout</comment>
        <translation>Kukaan ei ehtinyt vastata. Yritä myöhemmin uudelleen.</translation>
    </message>
    <message id="ended_queue_closed">
        <source>The service hours ended before your turn.</source>
        <comment>ended_queue_closed</comment>
        <translation>Palveluaika päättyi ennen vuoroasi.</translation>
    </message>
    <message id="ended_queue_unavailable">
        <source>The connection to the service is not working now. Please ask the library staff.</source>
        <comment>ended_queue_unavailable</comment>
        <translation>Yhteys palveluun ei nyt toimi. Kysy neuvoa kirjaston henkilökunnalta.</translation>
    </message>
    <message id="ended_queue_network_lost">
        <source>The connection was lost while you waited and did not come back in time. Please try again shortly.</source>
        <comment>ended_queue_network_lost</comment>
        <translation>Yhteys katkesi jonottaessa eikä palannut ajoissa. Yritä hetken päästä uudelleen.</translation>
    </message>
    <message id="ended_other">
        <source>The call ended.</source>
        <comment>ended_other</comment>
        <translation>Puhelu päättyi.</translation>
    </message>
    <message id="staff_title">
        <source>Staff</source>
        <comment>staff_title</comment>
        <translation>Henkilökunta</translation>
    </message>
    <message id="staff_enter_pin">
        <source>Staff PIN code</source>
        <comment>staff_enter_pin</comment>
        <translation>Henkilökunnan PIN-koodi</translation>
    </message>
    <message id="staff_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>staff_wrong_pin</comment>
        <translation>Väärä PIN-koodi.</translation>
    </message>
    <message id="staff_locked">
        <source>Too many wrong tries. Try again in 5 minutes.</source>
        <comment>staff_locked</comment>
        <translation>Liian monta väärää yritystä. Yritä 5 minuutin kuluttua.</translation>
    </message>
    <message id="staff_close">
        <source>Close</source>
        <comment>staff_close</comment>
        <translation>Sulje</translation>
    </message>
    <message id="staff_out_of_service">
        <source>Take out of service</source>
        <comment>staff_out_of_service</comment>
        <translation>Poista käytöstä</translation>
    </message>
    <message id="staff_back_in_service">
        <source>Put back in service</source>
        <comment>staff_back_in_service</comment>
        <translation>Palauta käyttöön</translation>
    </message>
    <message id="staff_message">
        <source>Message to customers</source>
        <comment>staff_message</comment>
        <translation>Viesti asiakkaille</translation>
    </message>
    <message id="staff_test_print">
        <source>Test print</source>
        <comment>staff_test_print</comment>
        <translation>Testitulostus</translation>
    </message>
    <message id="staff_test_scan">
        <source>Test scan</source>
        <comment>staff_test_scan</comment>
        <translation>Testiskannaus</translation>
    </message>
    <message id="staff_test_av">
        <source>Camera and microphone test</source>
        <comment>staff_test_av</comment>
        <translation>Kamera- ja mikrofonitesti</translation>
    </message>
    <message id="staff_sessions_today">
        <source>Sessions today: {count}</source>
        <comment>staff_sessions_today</comment>
        <translation>Asiointeja tänään: {count}</translation>
    </message>
    <message id="staff_support">
        <source>Support: {contact}</source>
        <comment>staff_support</comment>
        <translation>Tuki: {contact}</translation>
    </message>
    <message id="health_ok">
        <source>working</source>
        <comment>health_ok</comment>
        <translation>kunnossa</translation>
    </message>
    <message id="health_fault">
        <source>fault</source>
        <comment>health_fault</comment>
        <translation>vika</translation>
    </message>
    <message id="health_missing">
        <source>missing</source>
        <comment>health_missing</comment>
        <translation>ei löydy</translation>
    </message>
    <message id="health_unknown">
        <source>unknown</source>
        <comment>health_unknown</comment>
        <translation>ei tiedossa</translation>
    </message>
    <message id="device.switchboard">
        <source>service connection</source>
        <comment>device.switchboard</comment>
        <translation>yhteys palveluun</translation>
    </message>
    <message id="device.broker">
        <source>remote management</source>
        <comment>device.broker</comment>
        <translation>etähallinta</translation>
    </message>
    <message id="staff_locked_until">
        <source>Too many wrong PIN codes. Staff mode is locked until {time}.</source>
        <comment>staff_locked_until</comment>
        <translation>Liian monta väärää PIN-koodia. Henkilökuntatila on lukittu klo {time} asti.</translation>
    </message>
    <message id="keyboard.shift">
        <source>Capital letters</source>
        <comment>keyboard.shift</comment>
        <translation>Isot kirjaimet</translation>
    </message>
    <message id="keyboard.shift_locked">
        <source>Capital letters locked</source>
        <comment>keyboard.shift_locked</comment>
        <translation>Isot kirjaimet lukittu</translation>
    </message>
    <message id="keyboard.backspace">
        <source>Delete character</source>
        <comment>keyboard.backspace</comment>
        <translation>Poista merkki</translation>
    </message>
    <message id="keyboard.space">
        <source>space</source>
        <comment>keyboard.space</comment>
        <translation>välilyönti</translation>
    </message>
    <message id="keyboard.enter">
        <source>New line</source>
        <comment>keyboard.enter</comment>
        <translation>Rivinvaihto</translation>
    </message>
    <message id="pin.ok">
        <source>OK</source>
        <comment>pin.ok</comment>
        <translation>OK</translation>
    </message>
    <message id="pin.backspace">
        <source>Delete digit</source>
        <comment>pin.backspace</comment>
        <translation>Poista numero</translation>
    </message>
    <message id="pin.entered">
        <source>Digits entered: {count}</source>
        <comment>pin.entered</comment>
        <translation>Numeroita annettu: {count}</translation>
    </message>
</context>
</TS>
