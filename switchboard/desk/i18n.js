// Texts of the desk and organiser pages in Finnish, Swedish and English. Keys are used by data-i18n
// attributes and by t() in the scripts; a missing key falls back to English, then to the key itself.
'use strict';
window.I18N = {
  fi: {
    title: 'Etäpalvelupiste – palvelupöytä', language: 'Kieli', logout: 'Kirjaudu ulos',
    login_title: 'Kirjaudu', username: 'Käyttäjätunnus', password: 'Salasana', login: 'Kirjaudu',
    wrong_credentials: 'Väärä käyttäjätunnus tai salasana.',
    rate_limited: 'Liian monta yritystä. Yritä uudelleen {s} sekunnin kuluttua.',
    session_expired: 'Istunto on päättynyt. Kirjaudu uudelleen.',
    login_failed: 'Kirjautuminen ei onnistunut. Tarkista verkkoyhteys.',
    queue_title: 'Jonottavat asiakkaat', queue_empty: 'Kukaan ei jonota.', answer: 'Vastaa',
    queue_closed_label: '(suljettu)', waited: 'odottanut {s} s',
    alert_new_customer: 'Asiakas odottaa!',
    invites_title: 'Tulkkauspyynnöt', invites_empty: 'Ei pyyntöjä nyt.', accept: 'Ota vastaan',
    mute: 'Mykistä', unmute: 'Poista mykistys', camera_off: 'Kamera pois', camera_on: 'Kamera päälle',
    identify: 'Tunnista', request_scan: 'Pyydä skannaus', send_to_print: 'Lähetä tulostettavaksi',
    invite_interpreter: 'Kutsu tulkki', interpreter_language: 'kieli', end_call: 'Lopeta puhelu',
    text_title: 'Tekstipuhelu', type_here: 'Kirjoita tähän (asiakas näkee jokaisen kirjaimen)',
    camera_down: 'Asiakkaan kamera ei toimi. Asiakas näkee ja kuulee sinut; jatka puhelua.', identity_title: 'Henkilöllisyys', identity_none: 'Ei tunnistettu.', name: 'Nimi',
    identity_waiting: 'Odotetaan asiakkaan korttia…', identity_ok: 'Tunnistettu',
    identity_failed: 'Tunnistus epäonnistui: {r}',
    identity_insert_card: 'Asiakas asettaa kortin lukijaan…', identity_enter_pin: 'Asiakas syöttää PIN1-koodia…',
    identity_signing: 'Kortti allekirjoittaa…', identity_sent: 'Tarkistetaan…',
    identity_cancelled: 'Asiakas keskeytti tunnistuksen.',
    identity_reason_revoked: 'Kortti on suljettu (ilmoitettu kadonneeksi tai varastetuksi, tai korvattu uudella). Sillä ei voi tunnistaa ketään; tunnista asiakas muulla tavalla.',
    identity_reason_revocation_unknown: 'Kortin voimassaoloa ei voitu tarkistaa (sulkutietopalvelu ei vastannut). Yritä hetken kuluttua uudelleen tai tunnista asiakas muulla tavalla.',
    identity_reason_certificate_policy: 'Kortin varmenne ei ole tässä tunnistukseen hyväksyttyä tyyppiä.',
    identity_reason_origin_mismatch: 'Palvelupiste kieltäytyi allekirjoittamasta: palvelimen osoite ei vastaa pisteen asetuksia. Ilmoita tästä järjestäjän tukeen.',
    documents_title: 'Asiakirjat', scan_waiting_customer: 'Asiakas valmistelee skannausta…',
    scan_scanning: 'Skannataan…', scan_preview: 'Asiakas tarkistaa esikatselun…', scan_sending: 'Vastaanotetaan…',
    scan_sent: 'Skannaus vastaanotettu.', scan_declined: 'Asiakas ei lähettänyt skannausta.', scan_failed: 'Skannaus epäonnistui: {r}',
    received_ok: 'Vastaanotettu {n} ({kb} kt), tarkistussumma täsmää', received_bad: 'Asiakirja {n} hylättiin: {r}',
    open_document: 'Avaa', print_sending: 'Lähetetään {p} %', print_received: 'Piste vastaanotti asiakirjan',
    print_printing: 'Tulostetaan… {d}/{t}', print_done: 'Tulostettu.', print_failed: 'Tulostus epäonnistui: {r}',
    print_cancelled: 'Tulostus peruttu.', not_pdf: 'Valitse PDF-tiedosto.', too_large: 'Tiedosto on liian suuri (enintään 20 Mt).',
    call_ended: 'Puhelu päättyi.', peer_gone: 'Yhteys asiakkaaseen katkesi.',
    ticket_gone: 'Toinen virkailija ehti vastata tai asiakas poistui.', no_interpreter: 'Tulkkia ei ole nyt tavoitettavissa.',
    interpreter_invited: 'Tulkkia kutsutaan…', interpreter_joined: 'Tulkki liittyi puheluun.', interpreter_left: 'Tulkki poistui.',
    peer_refused: '{n} yritti avata oman yhteyden sinuun. Se estettiin: vain asiakkaan piste voi avata yhteyden. Puhelu jatkuu.',
    data_refused: 'Asiakkaan pisteeltä tuli viesti, jota palvelupöytä ei voinut hyväksyä ({k}). Se ohitettiin.',
    error_generic: 'Virhe: {c}', connection_lost: 'Yhteys palvelimeen katkesi. Yhdistetään uudelleen…',
    organiser_title: 'Etäpalvelupisteet – tilanne', points_title: 'Pisteet', points_online: 'Verkossa', point: 'Piste',
    place: 'Paikka', state: 'Tila', queues_title: 'Jonot', queue: 'Jono', producer: 'Palveluntuottaja', open: 'Auki',
    waiting: 'Jonossa', longest_wait: 'Pisin odotus', agents: 'Virkailijat (puhelussa)', calls_title: 'Käynnissä olevat puhelut',
    duration: 'Kesto', participants: 'Osallistujat', yes: 'kyllä', no: 'ei',
    customer_reconnecting: 'Yhteys asiakkaaseen katkesi. Odotetaan, että se palaa (enintään minuutti)…', connection_lost_in_call: 'Yhteys palvelimeen katkesi. Puhelu pidetään minuutin ajan, yhdistetään uudelleen…', call_lost: 'Puhelu päättyi, kun yhteys oli poikki.',
    entry_reconnecting: 'yhteys katkesi hetkeksi, paikka pidetään', st_reconnecting: 'yhdistää uudelleen', st_idle: 'vapaa', st_queued: 'jonossa', st_in_call: 'puhelussa', st_offline: 'ei verkossa',
  },
  sv: {
    title: 'Distansservicepunkt – servicedisk', language: 'Språk', logout: 'Logga ut',
    login_title: 'Logga in', username: 'Användarnamn', password: 'Lösenord', login: 'Logga in',
    wrong_credentials: 'Fel användarnamn eller lösenord.',
    rate_limited: 'För många försök. Försök igen om {s} sekunder.',
    session_expired: 'Sessionen har gått ut. Logga in igen.',
    login_failed: 'Inloggningen misslyckades. Kontrollera nätverket.',
    queue_title: 'Kunder i kö', queue_empty: 'Ingen väntar.', answer: 'Svara',
    queue_closed_label: '(stängd)', waited: 'väntat {s} s',
    alert_new_customer: 'En kund väntar!',
    invites_title: 'Tolkningsförfrågningar', invites_empty: 'Inga förfrågningar just nu.', accept: 'Ta emot',
    mute: 'Stäng av ljud', unmute: 'Slå på ljud', camera_off: 'Kamera av', camera_on: 'Kamera på',
    identify: 'Identifiera', request_scan: 'Begär skanning', send_to_print: 'Skicka för utskrift',
    invite_interpreter: 'Bjud in tolk', interpreter_language: 'språk', end_call: 'Avsluta samtalet',
    text_title: 'Realtidstext', type_here: 'Skriv här (kunden ser varje bokstav)',
    camera_down: 'Kundens kamera fungerar inte. Kunden ser och hör dig; fortsätt samtalet.', identity_title: 'Identitet', identity_none: 'Inte identifierad.', name: 'Namn',
    identity_waiting: 'Väntar på kundens kort…', identity_ok: 'Identifierad',
    identity_failed: 'Identifieringen misslyckades: {r}',
    identity_insert_card: 'Kunden sätter in kortet…', identity_enter_pin: 'Kunden anger PIN1…',
    identity_signing: 'Kortet signerar…', identity_sent: 'Kontrolleras…',
    identity_cancelled: 'Kunden avbröt identifieringen.',
    identity_reason_revoked: 'Kortet är spärrat (anmält förlorat eller stulet, eller ersatt av ett nytt). Det kan inte identifiera någon; identifiera kunden på annat sätt.',
    identity_reason_revocation_unknown: 'Kortets giltighet kunde inte kontrolleras (spärrtjänsten svarade inte). Försök igen om en stund eller identifiera kunden på annat sätt.',
    identity_reason_certificate_policy: 'Kortets certifikat är inte av en typ som godkänns för identifiering här.',
    identity_reason_origin_mismatch: 'Servicepunkten vägrade signera: serverns adress stämmer inte med punktens inställningar. Meddela arrangörens support.',
    documents_title: 'Dokument', scan_waiting_customer: 'Kunden förbereder skanningen…',
    scan_scanning: 'Skannar…', scan_preview: 'Kunden granskar förhandsvisningen…', scan_sending: 'Tar emot…',
    scan_sent: 'Skanningen mottagen.', scan_declined: 'Kunden skickade inte skanningen.', scan_failed: 'Skanningen misslyckades: {r}',
    received_ok: 'Mottaget {n} ({kb} kB), kontrollsumman stämmer', received_bad: 'Dokumentet {n} avvisades: {r}',
    open_document: 'Öppna', print_sending: 'Skickar {p} %', print_received: 'Punkten tog emot dokumentet',
    print_printing: 'Skriver ut… {d}/{t}', print_done: 'Utskrivet.', print_failed: 'Utskriften misslyckades: {r}',
    print_cancelled: 'Utskriften avbröts.', not_pdf: 'Välj en PDF-fil.', too_large: 'Filen är för stor (högst 20 MB).',
    call_ended: 'Samtalet avslutades.', peer_gone: 'Förbindelsen till kunden bröts.',
    ticket_gone: 'En annan handläggare svarade eller kunden gick.', no_interpreter: 'Ingen tolk är tillgänglig nu.',
    interpreter_invited: 'Tolk bjuds in…', interpreter_joined: 'Tolken anslöt.', interpreter_left: 'Tolken lämnade.',
    peer_refused: '{n} försökte öppna en egen förbindelse till dig. Den stoppades: bara kundens punkt får öppna en förbindelse. Samtalet fortsätter.',
    data_refused: 'Kundens punkt skickade ett meddelande som servicedisken inte kunde ta emot ({k}). Det ignorerades.',
    error_generic: 'Fel: {c}', connection_lost: 'Förbindelsen till servern bröts. Ansluter igen…',
    organiser_title: 'Distansservicepunkter – läge', points_title: 'Punkter', points_online: 'Uppkopplade', point: 'Punkt',
    place: 'Plats', state: 'Läge', queues_title: 'Köer', queue: 'Kö', producer: 'Tjänsteproducent', open: 'Öppen',
    waiting: 'I kö', longest_wait: 'Längsta väntan', agents: 'Handläggare (i samtal)', calls_title: 'Pågående samtal',
    duration: 'Längd', participants: 'Deltagare', yes: 'ja', no: 'nej',
    customer_reconnecting: 'Förbindelsen till kunden bröts. Vi väntar på att den kommer tillbaka (högst en minut)…', connection_lost_in_call: 'Förbindelsen till servern bröts. Samtalet hålls kvar en minut medan vi ansluter igen…', call_lost: 'Samtalet avslutades medan förbindelsen var bruten.',
    entry_reconnecting: 'förbindelsen bröts en stund, platsen hålls', st_reconnecting: 'ansluter igen', st_idle: 'ledig', st_queued: 'i kö', st_in_call: 'i samtal', st_offline: 'inte uppkopplad',
  },
  en: {
    title: 'Remote service point – desk', language: 'Language', logout: 'Log out',
    login_title: 'Log in', username: 'Username', password: 'Password', login: 'Log in',
    wrong_credentials: 'Wrong username or password.',
    rate_limited: 'Too many attempts. Try again in {s} seconds.',
    session_expired: 'Your session has ended. Log in again.',
    login_failed: 'Logging in failed. Check the network.',
    queue_title: 'Waiting customers', queue_empty: 'Nobody is waiting.', answer: 'Answer',
    queue_closed_label: '(closed)', waited: 'waited {s} s',
    alert_new_customer: 'A customer is waiting!',
    invites_title: 'Interpreting requests', invites_empty: 'No requests right now.', accept: 'Accept',
    mute: 'Mute', unmute: 'Unmute', camera_off: 'Camera off', camera_on: 'Camera on',
    identify: 'Identify', request_scan: 'Request scan', send_to_print: 'Send to print',
    invite_interpreter: 'Invite interpreter', interpreter_language: 'language', end_call: 'End call',
    text_title: 'Real-time text', type_here: 'Type here (the customer sees each letter)',
    camera_down: 'The customer\'s camera is not working. The customer sees and hears you; carry on with the call.', identity_title: 'Identity', identity_none: 'Not identified.', name: 'Name',
    identity_waiting: 'Waiting for the customer\'s card…', identity_ok: 'Verified',
    identity_failed: 'Identification failed: {r}',
    identity_insert_card: 'The customer is inserting the card…', identity_enter_pin: 'The customer is typing PIN1…',
    identity_signing: 'The card is signing…', identity_sent: 'Checking…',
    identity_cancelled: 'The customer cancelled identification.',
    identity_reason_revoked: 'The card has been revoked (reported lost or stolen, or replaced). It cannot identify anyone; identify the customer in another way.',
    identity_reason_revocation_unknown: 'The card\'s validity could not be checked (the revocation service did not answer). Try again in a moment, or identify the customer in another way.',
    identity_reason_certificate_policy: 'This card\'s certificate is not of a type accepted for identification here.',
    identity_reason_origin_mismatch: 'The service point refused to sign: the server\'s address does not match the point\'s settings. Report this to the organiser\'s support.',
    documents_title: 'Documents', scan_waiting_customer: 'The customer is preparing the scan…',
    scan_scanning: 'Scanning…', scan_preview: 'The customer is checking the preview…', scan_sending: 'Receiving…',
    scan_sent: 'Scan received.', scan_declined: 'The customer chose not to send the scan.', scan_failed: 'Scanning failed: {r}',
    received_ok: 'Received {n} ({kb} kB), checksum matches', received_bad: 'Document {n} was refused: {r}',
    open_document: 'Open', print_sending: 'Sending {p} %', print_received: 'The point received the document',
    print_printing: 'Printing… {d}/{t}', print_done: 'Printed.', print_failed: 'Printing failed: {r}',
    print_cancelled: 'Printing cancelled.', not_pdf: 'Choose a PDF file.', too_large: 'The file is too large (at most 20 MB).',
    call_ended: 'The call ended.', peer_gone: 'The connection to the customer was lost.',
    ticket_gone: 'Another agent answered, or the customer left.', no_interpreter: 'No interpreter is available now.',
    interpreter_invited: 'Inviting an interpreter…', interpreter_joined: 'The interpreter joined.', interpreter_left: 'The interpreter left.',
    peer_refused: '{n} tried to open a connection of their own to you. It was refused: only the customer\'s point may open one. The call goes on.',
    data_refused: 'The customer\'s point sent a message the desk could not accept ({k}). It was ignored.',
    error_generic: 'Error: {c}', connection_lost: 'The connection to the server was lost. Reconnecting…',
    organiser_title: 'Remote service points – overview', points_title: 'Points', points_online: 'Online', point: 'Point',
    place: 'Place', state: 'State', queues_title: 'Queues', queue: 'Queue', producer: 'Producer', open: 'Open',
    waiting: 'Waiting', longest_wait: 'Longest wait', agents: 'Agents (in call)', calls_title: 'Calls in progress',
    duration: 'Duration', participants: 'Participants', yes: 'yes', no: 'no',
    customer_reconnecting: 'The connection to the customer was interrupted. Waiting for it to come back (up to a minute)…', connection_lost_in_call: 'The connection to the server was lost. The call is kept for a minute while we reconnect…', call_lost: 'The call ended while the connection was down.',
    entry_reconnecting: 'connection interrupted, place held', st_reconnecting: 'reconnecting', st_idle: 'idle', st_queued: 'queued', st_in_call: 'in call', st_offline: 'offline',
  },
};

window.lang = (localStorage.getItem('etapiste.lang') || (navigator.language || 'fi').slice(0, 2));
if (!window.I18N[window.lang]) window.lang = 'fi';

window.t = function t(key, vars) {
  let text = (window.I18N[window.lang] || {})[key] ?? window.I18N.en[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
};

window.applyI18n = function applyI18n() {
  document.documentElement.lang = window.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = window.t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = window.t(el.dataset.i18nPlaceholder);
  document.title = window.t(document.body.dataset.titleKey || 'title');
  const select = document.getElementById('lang');
  if (select) select.value = window.lang;
};

document.addEventListener('DOMContentLoaded', () => {
  const select = document.getElementById('lang');
  if (select) select.addEventListener('change', () => {
    window.lang = select.value;
    localStorage.setItem('etapiste.lang', window.lang);
    window.applyI18n();
    document.dispatchEvent(new Event('languagechange'));
  });
  window.applyI18n();
});
