<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="sv_FI" sourcelanguage="en_GB">
<context>
    <name>kiosk</name>
    <message id="welcome">
        <source>Welcome</source>
        <comment>welcome</comment>
        <translation>Välkommen</translation>
    </message>
    <message id="intro">
        <source>Here you can talk to public services over a video call.</source>
        <comment>intro</comment>
        <translation>Här kan du sköta ärenden med myndigheter via videosamtal.</translation>
    </message>
    <message id="choose_language">
        <source>Choose a language to start</source>
        <comment>choose_language</comment>
        <translation>Välj språk för att börja</translation>
    </message>
    <message id="open_today">
        <source>Open today {hours}</source>
        <comment>open_today</comment>
        <translation>Öppet i dag {hours}</translation>
    </message>
    <message id="closed_today">
        <source>Closed today</source>
        <comment>closed_today</comment>
        <translation>Stängt i dag</translation>
    </message>
    <message id="closed_title">
        <source>The service point is closed now</source>
        <comment>closed_title</comment>
        <translation>Servicepunkten är stängd nu</translation>
    </message>
    <message id="next_opening">
        <source>We open {when}</source>
        <comment>next_opening</comment>
        <translation>Vi öppnar {when}</translation>
    </message>
    <message id="no_next_opening">
        <source>Please ask the library staff for the opening hours.</source>
        <comment>no_next_opening</comment>
        <translation>Fråga bibliotekets personal om öppettiderna.</translation>
    </message>
    <message id="out_of_service_title">
        <source>The service point is not in use right now</source>
        <comment>out_of_service_title</comment>
        <translation>Servicepunkten är inte i bruk just nu</translation>
    </message>
    <message id="out_of_service_help">
        <source>Please ask the library staff for help.</source>
        <comment>out_of_service_help</comment>
        <translation>Fråga bibliotekets personal om hjälp.</translation>
    </message>
    <message id="accessibility">
        <source>Accessibility</source>
        <comment>accessibility</comment>
        <translation>Tillgänglighet</translation>
    </message>
    <message id="larger_text">
        <source>Larger text</source>
        <comment>larger_text</comment>
        <translation>Större text</translation>
    </message>
    <message id="normal_text">
        <source>Normal text</source>
        <comment>normal_text</comment>
        <translation>Normal text</translation>
    </message>
    <message id="devices_unavailable">
        <source>Not available now: {devices}</source>
        <comment>devices_unavailable</comment>
        <translation>Inte tillgängligt nu: {devices}</translation>
    </message>
    <message id="device.camera">
        <source>camera</source>
        <comment>device.camera</comment>
        <translation>kamera</translation>
    </message>
    <message id="device.printer">
        <source>printer</source>
        <comment>device.printer</comment>
        <translation>skrivare</translation>
    </message>
    <message id="device.scanner">
        <source>scanner</source>
        <comment>device.scanner</comment>
        <translation>skanner</translation>
    </message>
    <message id="device.card_reader">
        <source>ID card reader</source>
        <comment>device.card_reader</comment>
        <translation>id-kortsläsare</translation>
    </message>
    <message id="device.microphone">
        <source>microphone</source>
        <comment>device.microphone</comment>
        <translation>mikrofon</translation>
    </message>
    <message id="device.speaker">
        <source>speaker</source>
        <comment>device.speaker</comment>
        <translation>högtalare</translation>
    </message>
    <message id="back">
        <source>Back</source>
        <comment>back</comment>
        <translation>Tillbaka</translation>
    </message>
    <message id="continue">
        <source>Continue</source>
        <comment>continue</comment>
        <translation>Fortsätt</translation>
    </message>
    <message id="cancel">
        <source>Cancel</source>
        <comment>cancel</comment>
        <translation>Avbryt</translation>
    </message>
    <message id="ok">
        <source>OK</source>
        <comment>ok</comment>
        <translation>OK</translation>
    </message>
    <message id="skip">
        <source>Skip</source>
        <comment>skip</comment>
        <translation>Hoppa över</translation>
    </message>
    <message id="high_contrast">
        <source>High contrast</source>
        <comment>high_contrast</comment>
        <translation>Hög kontrast</translation>
    </message>
    <message id="speech">
        <source>Speech</source>
        <comment>speech</comment>
        <translation>Tal</translation>
    </message>
    <message id="speech_on">
        <source>Speech on</source>
        <comment>speech_on</comment>
        <translation>Tal på</translation>
    </message>
    <message id="more_time">
        <source>More time</source>
        <comment>more_time</comment>
        <translation>Mer tid</translation>
    </message>
    <message id="timeout_warning">
        <source>Are you still there? The service ends in {seconds} seconds.</source>
        <comment>timeout_warning</comment>
        <translation>Är du kvar? Tjänsten avslutas om {seconds} sekunder.</translation>
    </message>
    <message id="choose_service">
        <source>Who do you want to talk to?</source>
        <comment>choose_service</comment>
        <translation>Vem vill du tala med?</translation>
    </message>
    <message id="choose_service_hint">
        <source>If you are not sure, choose Citizens' Advice.</source>
        <comment>choose_service_hint</comment>
        <translation>Om du inte vet, välj Medborgarrådgivningen.</translation>
    </message>
    <message id="producer_closed_until">
        <source>Not serving now. Opens {when}.</source>
        <comment>producer_closed_until</comment>
        <translation>Betjänar inte nu. Öppnar {when}.</translation>
    </message>
    <message id="producer_closed">
        <source>Not serving now.</source>
        <comment>producer_closed</comment>
        <translation>Betjänar inte nu.</translation>
    </message>
    <message id="estimate_minutes">
        <source>Estimated wait about {minutes} min</source>
        <comment>estimate_minutes</comment>
        <translation>Beräknad väntetid cirka {minutes} min</translation>
    </message>
    <message id="estimate_unknown">
        <source>The wait cannot be estimated</source>
        <comment>estimate_unknown</comment>
        <translation>Väntetiden kan inte beräknas</translation>
    </message>
    <message id="notice_video">
        <source>A customer service agent will appear on the screen by video. They will see and hear you.</source>
        <comment>notice_video</comment>
        <translation>En kundtjänstmedarbetare syns på skärmen via video. Hen ser och hör dig.</translation>
    </message>
    <message id="notice_not_recorded">
        <source>The conversation is not recorded.</source>
        <comment>notice_not_recorded</comment>
        <translation>Samtalet spelas inte in.</translation>
    </message>
    <message id="notice_documents">
        <source>Documents are scanned and sent only if you agree. Nothing stays on this machine.</source>
        <comment>notice_documents</comment>
        <translation>Dokument skannas och skickas bara om du godkänner det. Ingenting blir kvar i apparaten.</translation>
    </message>
    <message id="queue_title">
        <source>You are waiting for: {producer}</source>
        <comment>queue_title</comment>
        <translation>Du väntar på tur: {producer}</translation>
    </message>
    <message id="queue_connecting">
        <source>Connecting…</source>
        <comment>queue_connecting</comment>
        <translation>Ansluter…</translation>
    </message>
    <message id="queue_interrupted">
        <source>The connection was interrupted for a moment. You keep your place in the queue – please wait here, it comes back by itself.</source>
        <comment>queue_interrupted</comment>
        <translation>Förbindelsen bröts en stund. Din plats i kön finns kvar – vänta här, den kommer tillbaka av sig själv.</translation>
    </message>
    <message id="queue_position">
        <source>You are number {position} in the queue.</source>
        <comment>queue_position</comment>
        <translation>Du är nummer {position} i kön.</translation>
    </message>
    <message id="ask_staff">
        <source>Need help? Ask the library staff.</source>
        <comment>ask_staff</comment>
        <translation>Behöver du hjälp? Fråga bibliotekets personal.</translation>
    </message>
    <message id="cancel_queue">
        <source>Stop waiting</source>
        <comment>cancel_queue</comment>
        <translation>Sluta vänta</translation>
    </message>
    <message id="call_connected">
        <source>Connected</source>
        <comment>call_connected</comment>
        <translation>Ansluten</translation>
    </message>
    <message id="interpreter_joined">
        <source>An interpreter has joined the call.</source>
        <comment>interpreter_joined</comment>
        <translation>En tolk deltar i samtalet.</translation>
    </message>
    <message id="call_reconnecting">
        <source>The connection was interrupted. Reconnecting…</source>
        <comment>call_reconnecting</comment>
        <translation>Förbindelsen bröts en stund. Ansluter på nytt…</translation>
    </message>
    <message id="you">
        <source>You</source>
        <comment>you</comment>
        <translation>Du</translation>
    </message>
    <message id="agent">
        <source>Agent</source>
        <comment>agent</comment>
        <translation>Handläggare</translation>
    </message>
    <message id="type_here">
        <source>Type here</source>
        <comment>type_here</comment>
        <translation>Skriv här</translation>
    </message>
    <message id="show_keyboard">
        <source>Keyboard</source>
        <comment>show_keyboard</comment>
        <translation>Tangentbord</translation>
    </message>
    <message id="hide_keyboard">
        <source>Hide keyboard</source>
        <comment>hide_keyboard</comment>
        <translation>Dölj tangentbordet</translation>
    </message>
    <message id="end_call">
        <source>End call</source>
        <comment>end_call</comment>
        <translation>Avsluta samtalet</translation>
    </message>
    <message id="identify_title">
        <source>Identification with your ID card</source>
        <comment>identify_title</comment>
        <translation>Identifiering med id-kort</translation>
    </message>
    <message id="identify_insert_card">
        <source>Put your ID card in the reader.</source>
        <comment>identify_insert_card</comment>
        <translation>Sätt in ditt id-kort i läsaren.</translation>
    </message>
    <message id="identify_enter_pin">
        <source>Enter your PIN1 code.</source>
        <comment>identify_enter_pin</comment>
        <translation>Ange din PIN1-kod.</translation>
    </message>
    <message id="identify_checking">
        <source>Checking…</source>
        <comment>identify_checking</comment>
        <translation>Kontrollerar…</translation>
    </message>
    <message id="identify_done">
        <source>You have been identified.</source>
        <comment>identify_done</comment>
        <translation>Identifieringen lyckades.</translation>
    </message>
    <message id="identify_failed">
        <source>Identification did not succeed.</source>
        <comment>identify_failed</comment>
        <translation>Identifieringen misslyckades.</translation>
    </message>
    <message id="identify_remove_card">
        <source>Done. Take your card from the reader.</source>
        <comment>identify_remove_card</comment>
        <translation>Klart. Ta ditt kort ur läsaren.</translation>
    </message>
    <message id="tries_left">
        <source>Tries left: {tries}</source>
        <comment>tries_left</comment>
        <translation>Försök kvar: {tries}</translation>
    </message>
    <message id="error_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>error_wrong_pin</comment>
        <translation>Fel PIN-kod.</translation>
    </message>
    <message id="error_pin_blocked">
        <source>The PIN code is locked. Unlock it with the PUK code at the police.</source>
        <comment>error_pin_blocked</comment>
        <translation>PIN-koden är låst. Lås upp den med PUK-koden hos polisen.</translation>
    </message>
    <message id="error_not_fineid">
        <source>This is not a Finnish ID card.</source>
        <comment>error_not_fineid</comment>
        <translation>Det här är inte ett finskt id-kort.</translation>
    </message>
    <message id="error_card_removed">
        <source>The card was taken out too early.</source>
        <comment>error_card_removed</comment>
        <translation>Kortet togs ut för tidigt.</translation>
    </message>
    <message id="error_card_error">
        <source>The card could not be read.</source>
        <comment>error_card_error</comment>
        <translation>Kortet kunde inte läsas.</translation>
    </message>
    <message id="error_internal_error">
        <source>A technical error occurred. The agent has been told.</source>
        <comment>error_internal_error</comment>
        <translation>Ett tekniskt fel inträffade. Handläggaren har fått veta om det.</translation>
    </message>
    <message id="scan_title">
        <source>Scanning a document</source>
        <comment>scan_title</comment>
        <translation>Skanning av dokument</translation>
    </message>
    <message id="scan_place_paper">
        <source>Place the paper in the scanner face down and press Scan.</source>
        <comment>scan_place_paper</comment>
        <translation>Lägg papperet i skannern med texten nedåt och tryck Skanna.</translation>
    </message>
    <message id="scan_scanning">
        <source>Scanning… pages {pages}</source>
        <comment>scan_scanning</comment>
        <translation>Skannar… sidor {pages}</translation>
    </message>
    <message id="scan_preview">
        <source>Check the picture. Send {pages} pages to the agent?</source>
        <comment>scan_preview</comment>
        <translation>Kontrollera bilden. Ska {pages} sidor skickas till handläggaren?</translation>
    </message>
    <message id="scan_blank">
        <source>Blank pages left out: {blank}</source>
        <comment>scan_blank</comment>
        <translation>Tomma sidor lämnas bort: {blank}</translation>
    </message>
    <message id="scan_sending">
        <source>Sending…</source>
        <comment>scan_sending</comment>
        <translation>Skickar…</translation>
    </message>
    <message id="scan_sent">
        <source>Sent. Remember to take your papers from the scanner.</source>
        <comment>scan_sent</comment>
        <translation>Skickat. Kom ihåg dina papper i skannern.</translation>
    </message>
    <message id="scan_failed">
        <source>Scanning did not succeed.</source>
        <comment>scan_failed</comment>
        <translation>Skanningen misslyckades.</translation>
    </message>
    <message id="scan_start">
        <source>Scan</source>
        <comment>scan_start</comment>
        <translation>Skanna</translation>
    </message>
    <message id="scan_send">
        <source>Send</source>
        <comment>scan_send</comment>
        <translation>Skicka</translation>
    </message>
    <message id="scan_dont_send">
        <source>Don't send</source>
        <comment>scan_dont_send</comment>
        <translation>Skicka inte</translation>
    </message>
    <message id="print_title">
        <source>Printing</source>
        <comment>print_title</comment>
        <translation>Utskrift</translation>
    </message>
    <message id="print_printing">
        <source>The agent sent you a document ({pages} pages). Printing…</source>
        <comment>print_printing</comment>
        <translation>Handläggaren skickade ett dokument ({pages} sidor). Skriver ut…</translation>
    </message>
    <message id="print_done">
        <source>Done. Take your printout from the printer.</source>
        <comment>print_done</comment>
        <translation>Klart. Ta din utskrift från skrivaren.</translation>
    </message>
    <message id="print_failed">
        <source>Printing did not succeed. The agent knows about it.</source>
        <comment>print_failed</comment>
        <translation>Utskriften misslyckades. Handläggaren vet om det.</translation>
    </message>
    <message id="thanks">
        <source>Thank you for your visit</source>
        <comment>thanks</comment>
        <translation>Tack för besöket</translation>
    </message>
    <message id="reminders">
        <source>Remember to take your ID card, your papers from the scanner and your printouts.</source>
        <comment>reminders</comment>
        <translation>Kom ihåg att ta med ditt id-kort, dina papper från skannern och dina utskrifter.</translation>
    </message>
    <message id="survey_question">
        <source>How satisfied were you with the service?</source>
        <comment>survey_question</comment>
        <translation>Hur nöjd var du med tjänsten?</translation>
    </message>
    <message id="rating_1">
        <source>poor</source>
        <comment>rating_1</comment>
        <translation>dålig</translation>
    </message>
    <message id="rating_2">
        <source>fair</source>
        <comment>rating_2</comment>
        <translation>försvarlig</translation>
    </message>
    <message id="rating_3">
        <source>average</source>
        <comment>rating_3</comment>
        <translation>medelmåttig</translation>
    </message>
    <message id="rating_4">
        <source>good</source>
        <comment>rating_4</comment>
        <translation>bra</translation>
    </message>
    <message id="rating_5">
        <source>excellent</source>
        <comment>rating_5</comment>
        <translation>utmärkt</translation>
    </message>
    <message id="ended_network">
        <source>The connection was lost and did not come back.</source>
        <comment>ended_network</comment>
        <translation>Förbindelsen bröts och kom inte tillbaka.</translation>
    </message>
    <message id="ended_queue_timeout">
        <source>Nobody could answer in time. Please try again later.</source>
        <comment>ended_queue_timeout</comment>
        <translation>Ingen hann svara. Försök igen senare.</translation>
    </message>
    <message id="ended_queue_closed">
        <source>The service hours ended before your turn.</source>
        <comment>ended_queue_closed</comment>
        <translation>Betjäningstiden tog slut före din tur.</translation>
    </message>
    <message id="ended_queue_unavailable">
        <source>The connection to the service is not working now. Please ask the library staff.</source>
        <comment>ended_queue_unavailable</comment>
        <translation>Anslutningen till tjänsten fungerar inte nu. Fråga bibliotekets personal.</translation>
    </message>
    <message id="ended_queue_network_lost">
        <source>The connection was lost while you waited and did not come back in time. Please try again shortly.</source>
        <comment>ended_queue_network_lost</comment>
        <translation>Förbindelsen bröts medan du köade och kom inte tillbaka i tid. Försök igen om en stund.</translation>
    </message>
    <message id="ended_other">
        <source>The call ended.</source>
        <comment>ended_other</comment>
        <translation>Samtalet avslutades.</translation>
    </message>
    <message id="staff_title">
        <source>Staff</source>
        <comment>staff_title</comment>
        <translation>Personal</translation>
    </message>
    <message id="staff_enter_pin">
        <source>Staff PIN code</source>
        <comment>staff_enter_pin</comment>
        <translation>Personalens PIN-kod</translation>
    </message>
    <message id="staff_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>staff_wrong_pin</comment>
        <translation>Fel PIN-kod.</translation>
    </message>
    <message id="staff_locked">
        <source>Too many wrong tries. Try again in 5 minutes.</source>
        <comment>staff_locked</comment>
        <translation>För många felaktiga försök. Försök igen om 5 minuter.</translation>
    </message>
    <message id="staff_close">
        <source>Close</source>
        <comment>staff_close</comment>
        <translation>Stäng</translation>
    </message>
    <message id="staff_out_of_service">
        <source>Take out of service</source>
        <comment>staff_out_of_service</comment>
        <translation>Ta ur bruk</translation>
    </message>
    <message id="staff_back_in_service">
        <source>Put back in service</source>
        <comment>staff_back_in_service</comment>
        <translation>Ta i bruk</translation>
    </message>
    <message id="staff_message">
        <source>Message to customers</source>
        <comment>staff_message</comment>
        <translation>Meddelande till kunderna</translation>
    </message>
    <message id="staff_test_print">
        <source>Test print</source>
        <comment>staff_test_print</comment>
        <translation>Testutskrift</translation>
    </message>
    <message id="staff_test_scan">
        <source>Test scan</source>
        <comment>staff_test_scan</comment>
        <translation>Testskanning</translation>
    </message>
    <message id="staff_test_av">
        <source>Camera and microphone test</source>
        <comment>staff_test_av</comment>
        <translation>Kamera- och mikrofontest</translation>
    </message>
    <message id="staff_sessions_today">
        <source>Sessions today: {count}</source>
        <comment>staff_sessions_today</comment>
        <translation>Besök i dag: {count}</translation>
    </message>
    <message id="staff_support">
        <source>Support: {contact}</source>
        <comment>staff_support</comment>
        <translation>Support: {contact}</translation>
    </message>
    <message id="health_ok">
        <source>working</source>
        <comment>health_ok</comment>
        <translation>fungerar</translation>
    </message>
    <message id="health_fault">
        <source>fault</source>
        <comment>health_fault</comment>
        <translation>fel</translation>
    </message>
    <message id="health_missing">
        <source>missing</source>
        <comment>health_missing</comment>
        <translation>saknas</translation>
    </message>
    <message id="health_unknown">
        <source>unknown</source>
        <comment>health_unknown</comment>
        <translation>okänt</translation>
    </message>
    <message id="device.switchboard">
        <source>service connection</source>
        <comment>device.switchboard</comment>
        <translation>anslutning till tjänsten</translation>
    </message>
    <message id="device.broker">
        <source>remote management</source>
        <comment>device.broker</comment>
        <translation>fjärrhantering</translation>
    </message>
    <message id="staff_locked_until">
        <source>Too many wrong PIN codes. Staff mode is locked until {time}.</source>
        <comment>staff_locked_until</comment>
        <translation>För många fel PIN-koder. Personalläget är låst till kl. {time}.</translation>
    </message>
    <message id="keyboard.shift">
        <source>Capital letters</source>
        <comment>keyboard.shift</comment>
        <translation>Stora bokstäver</translation>
    </message>
    <message id="keyboard.shift_locked">
        <source>Capital letters locked</source>
        <comment>keyboard.shift_locked</comment>
        <translation>Stora bokstäver låsta</translation>
    </message>
    <message id="keyboard.backspace">
        <source>Delete character</source>
        <comment>keyboard.backspace</comment>
        <translation>Radera tecken</translation>
    </message>
    <message id="keyboard.space">
        <source>space</source>
        <comment>keyboard.space</comment>
        <translation>mellanslag</translation>
    </message>
    <message id="keyboard.enter">
        <source>New line</source>
        <comment>keyboard.enter</comment>
        <translation>Ny rad</translation>
    </message>
    <message id="pin.ok">
        <source>OK</source>
        <comment>pin.ok</comment>
        <translation>OK</translation>
    </message>
    <message id="pin.backspace">
        <source>Delete digit</source>
        <comment>pin.backspace</comment>
        <translation>Radera siffra</translation>
    </message>
    <message id="pin.entered">
        <source>Digits entered: {count}</source>
        <comment>pin.entered</comment>
        <translation>Angivna siffror: {count}</translation>
    </message>
</context>
</TS>
