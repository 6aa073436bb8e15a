<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_GB" sourcelanguage="en_GB">
<context>
    <name>kiosk</name>
    <message id="welcome">
        <source>Welcome</source>
        <comment>welcome</comment>
        <translation>Welcome</translation>
    </message>
    <message id="intro">
        <source>Here you can talk to public services over a video call.</source>
        <comment>intro</comment>
        <translation>Here you can talk to public services over a video call.</translation>
    </message>
    <message id="choose_language">
        <source>Choose a language to start</source>
        <comment>choose_language</comment>
        <translation>Choose a language to start</translation>
    </message>
    <message id="open_today">
        <source>Open today {hours}</source>
        <comment>open_today</comment>
        <translation>Open today {hours}</translation>
    </message>
    <message id="closed_today">
        <source>Closed today</source>
        <comment>closed_today</comment>
        <translation>Closed today</translation>
    </message>
    <message id="closed_title">
        <source>The service point is closed now</source>
        <comment>closed_title</comment>
        <translation>The service point is closed now</translation>
    </message>
    <message id="next_opening">
        <source>We open {when}</source>
        <comment>next_opening</comment>
        <translation>We open {when}</translation>
    </message>
    <message id="no_next_opening">
        <source>Please ask the library staff for the opening hours.</source>
        <comment>no_next_opening</comment>
        <translation>Please ask the library staff for the opening hours.</translation>
    </message>
    <message id="out_of_service_title">
        <source>The service point is not in use right now</source>
        <comment>out_of_service_title</comment>
        <translation>The service point is not in use right now</translation>
    </message>
    <message id="out_of_service_help">
        <source>Please ask the library staff for help.</source>
        <comment>out_of_service_help</comment>
        <translation>Please ask the library staff for help.</translation>
    </message>
    <message id="accessibility">
        <source>Accessibility</source>
        <comment>accessibility</comment>
        <translation>Accessibility</translation>
    </message>
    <message id="larger_text">
        <source>Larger text</source>
        <comment>larger_text</comment>
        <translation>Larger text</translation>
    </message>
    <message id="normal_text">
        <source>Normal text</source>
        <comment>normal_text</comment>
        <translation>Normal text</translation>
    </message>
    <message id="devices_unavailable">
        <source>Not available now: {devices}</source>
        <comment>devices_unavailable</comment>
        <translation>Not available now: {devices}</translation>
    </message>
    <message id="device.camera">
        <source>camera</source>
        <comment>device.camera</comment>
        <translation>camera</translation>
    </message>
    <message id="device.printer">
        <source>printer</source>
        <comment>device.printer</comment>
        <translation>printer</translation>
    </message>
    <message id="device.scanner">
        <source>scanner</source>
        <comment>device.scanner</comment>
        <translation>scanner</translation>
    </message>
    <message id="device.card_reader">
        <source>ID card reader</source>
        <comment>device.card_reader</comment>
        <translation>ID card reader</translation>
    </message>
    <message id="device.microphone">
        <source>microphone</source>
        <comment>device.microphone</comment>
        <translation>microphone</translation>
    </message>
    <message id="device.speaker">
        <source>speaker</source>
        <comment>device.speaker</comment>
        <translation>speaker</translation>
    </message>
    <message id="back">
        <source>Back</source>
        <comment>back</comment>
        <translation>Back</translation>
    </message>
    <message id="continue">
        <source>Continue</source>
        <comment>continue</comment>
        <translation>Continue</translation>
    </message>
    <message id="cancel">
        <source>Cancel</source>
        <comment>cancel</comment>
        <translation>Cancel</translation>
    </message>
    <message id="ok">
        <source>OK</source>
        <comment>ok</comment>
        <translation>OK</translation>
    </message>
    <message id="skip">
        <source>Skip</source>
        <comment>skip</comment>
        <translation>Skip</translation>
    </message>
    <message id="high_contrast">
        <source>High contrast</source>
        <comment>high_contrast</comment>
        <translation>High contrast</translation>
    </message>
    <message id="speech">
        <source>Speech</source>
        <comment>speech</comment>
        <translation>Speech</translation>
    </message>
    <message id="speech_on">
        <source>Speech on</source>
        <comment>speech_on</comment>
        <translation>Speech on</translation>
    </message>
    <message id="more_time">
        <source>More time</source>
        <comment>more_time</comment>
        <translation>More time</translation>
    </message>
    <message id="timeout_warning">
        <source>Are you still there? The service ends in {seconds} seconds.</source>
        <comment>timeout_warning</comment>
        <translation>Are you still there? The service ends in {seconds} seconds.</translation>
    </message>
    <message id="choose_service">
        <source>Who do you want to talk to?</source>
        <comment>choose_service</comment>
        <translation>Who do you want to talk to?</translation>
    </message>
    <message id="choose_service_hint">
        <source>If you are not sure, choose Citizens' Advice.</source>
        <comment>choose_service_hint</comment>
        <translation>If you are not sure, choose Citizens' Advice.</translation>
    </message>
    <message id="producer_closed_until">
        <source>Not serving now. Opens {when}.</source>
        <comment>producer_closed_until</comment>
        <translation>Not serving now. Opens {when}.</translation>
    </message>
    <message id="producer_closed">
        <source>Not serving now.</source>
        <comment>producer_closed</comment>
        <translation>Not serving now.</translation>
    </message>
    <message id="estimate_minutes">
        <source>Estimated wait about {minutes} min</source>
        <comment>estimate_minutes</comment>
        <translation>Estimated wait about {minutes} min</translation>
    </message>
    <message id="estimate_unknown">
        <source>The wait cannot be estimated</source>
        <comment>estimate_unknown</comment>
        <translation>The wait cannot be estimated</translation>
    </message>
    <message id="notice_video">
        <source>A customer service agent will appear on the screen by video. They will see and hear you.</source>
        <comment>notice_video</comment>
        <translation>A customer service agent will appear on the screen by video. They will see and hear you.</translation>
    </message>
    <message id="notice_not_recorded">
        <source>The conversation is not recorded.</source>
        <comment>notice_not_recorded</comment>
        <translation>The conversation is not recorded.</translation>
    </message>
    <message id="notice_documents">
        <source>Documents are scanned and sent only if you agree. Nothing stays on this machine.</source>
        <comment>notice_documents</comment>
        <translation>Documents are scanned and sent only if you agree. Nothing stays on this machine.</translation>
    </message>
    <message id="queue_title">
        <source>You are waiting for: {producer}</source>
        <comment>queue_title</comment>
        <translation>You are waiting for: {producer}</translation>
    </message>
    <message id="queue_connecting">
        <source>Connecting…</source>
        <comment>queue_connecting</comment>
        <translation>Connecting…</translation>
    </message>
    <message id="queue_interrupted">
        <source>The connection was interrupted for a moment. You keep your place in the queue – please wait here, it comes back by itself.</source>
        <comment>queue_interrupted</comment>
        <translation>The connection was interrupted for a moment. You keep your place in the queue – please wait here, it comes back by itself.</translation>
    </message>
    <message id="queue_position">
        <source>You are number {position} in the queue.</source>
        <comment>queue_position</comment>
        <translation>You are number {position} in the queue.</translation>
    </message>
    <message id="ask_staff">
        <source>Need help? Ask the library staff.</source>
        <comment>ask_staff</comment>
        <translation>Need help? Ask the library staff.</translation>
    </message>
    <message id="cancel_queue">
        <source>Stop waiting</source>
        <comment>cancel_queue</comment>
        <translation>Stop waiting</translation>
    </message>
    <message id="call_connected">
        <source>Connected</source>
        <comment>call_connected</comment>
        <translation>Connected</translation>
    </message>
    <message id="interpreter_joined">
        <source>An interpreter has joined the call.</source>
        <comment>interpreter_joined</comment>
        <translation>An interpreter has joined the call.</translation>
    </message>
    <message id="call_reconnecting">
        <source>The connection was interrupted. Reconnecting…</source>
        <comment>call_reconnecting</comment>
        <translation>The connection was interrupted. Reconnecting…</translation>
    </message>
    <message id="you">
        <source>You</source>
        <comment>you</comment>
        <translation>You</translation>
    </message>
    <message id="agent">
        <source>Agent</source>
        <comment>agent</comment>
        <translation>Agent</translation>
    </message>
    <message id="type_here">
        <source>Type here</source>
        <comment>type_here</comment>
        <translation>Type here</translation>
    </message>
    <message id="show_keyboard">
        <source>Keyboard</source>
        <comment>show_keyboard</comment>
        <translation>Keyboard</translation>
    </message>
    <message id="hide_keyboard">
        <source>Hide keyboard</source>
        <comment>hide_keyboard</comment>
        <translation>Hide keyboard</translation>
    </message>
    <message id="end_call">
        <source>End call</source>
        <comment>end_call</comment>
        <translation>End call</translation>
    </message>
    <message id="identify_title">
        <source>Identification with your ID card</source>
        <comment>identify_title</comment>
        <translation>Identification with your ID card</translation>
    </message>
    <message id="identify_insert_card">
        <source>Put your ID card in the reader.</source>
        <comment>identify_insert_card</comment>
        <translation>Put your ID card in the reader.</translation>
    </message>
    <message id="identify_enter_pin">
        <source>Enter your PIN1 code.</source>
        <comment>identify_enter_pin</comment>
        <translation>Enter your PIN1 code.</translation>
    </message>
    <message id="identify_checking">
        <source>Checking…</source>
        <comment>identify_checking</comment>
        <translation>Checking…</translation>
    </message>
    <message id="identify_done">
        <source>You have been identified.</source>
        <comment>identify_done</comment>
        <translation>You have been identified.</translation>
    </message>
    <message id="identify_failed">
        <source>Identification did not succeed.</source>
        <comment>identify_failed</comment>
        <translation>Identification did not succeed.</translation>
    </message>
    <message id="identify_remove_card">
        <source>Done. Take your card from the reader.</source>
        <comment>identify_remove_card</comment>
        <translation>Done. Take your card from the reader.</translation>
    </message>
    <message id="tries_left">
        <source>Tries left: {tries}</source>
        <comment>tries_left</comment>
        <translation>Tries left: {tries}</translation>
    </message>
    <message id="error_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>error_wrong_pin</comment>
        <translation>Wrong PIN code.</translation>
    </message>
    <message id="error_pin_blocked">
        <source>The PIN code is locked. Unlock it with the PUK code at the police.</source>
        <comment>error_pin_blocked</comment>
        <translation>The PIN code is locked. Unlock it with the PUK code at the police.</translation>
    </message>
    <message id="error_not_fineid">
        <source>This is not a Finnish ID card.</source>
        <comment>error_not_fineid</comment>
        <translation>This is not a Finnish ID card.</translation>
    </message>
    <message id="error_card_removed">
        <source>The card was taken out too early.</source>
        <comment>error_card_removed</comment>
        <translation>The card was taken out too early.</translation>
    </message>
    <message id="error_card_error">
        <source>The card could not be read.</source>
        <comment>error_card_error</comment>
        <translation>The card could not be read.</translation>
    </message>
    <message id="error_internal_error">
        <source>A technical error occurred. The agent has been told.</source>
        <comment>error_internal_error</comment>
        <translation>A technical error occurred. The agent has been told.</translation>
    </message>
    <message id="scan_title">
        <source>Scanning a document</source>
        <comment>scan_title</comment>
        <translation>Scanning a document</translation>
    </message>
    <message id="scan_place_paper">
        <source>Place the paper in the scanner face down and press Scan.</source>
        <comment>scan_place_paper</comment>
        <translation>Place the paper in the scanner face down and press Scan.</translation>
    </message>
    <message id="scan_scanning">
        <source>Scanning… pages {pages}</source>
        <comment>scan_scanning</comment>
        <translation>Scanning… pages {pages}</translation>
    </message>
    <message id="scan_preview">
        <source>Check the picture. Send {pages} pages to the agent?</source>
        <comment>scan_preview</comment>
        <translation>Check the picture. Send {pages} pages to the agent?</translation>
    </message>
    <message id="scan_blank">
        <source>Blank pages left out: {blank}</source>
        <comment>scan_blank</comment>
        <translation>Blank pages left out: {blank}</translation>
    </message>
    <message id="scan_sending">
        <source>Sending…</source>
        <comment>scan_sending</comment>
        <translation>Sending…</translation>
    </message>
    <message id="scan_sent">
        <source>Sent. Remember to take your papers from the scanner.</source>
        <comment>scan_sent</comment>
        <translation>Sent. Remember to take your papers from the scanner.</translation>
    </message>
    <message id="scan_failed">
        <source>Scanning did not succeed.</source>
        <comment>scan_failed</comment>
        <translation>Scanning did not succeed.</translation>
    </message>
    <message id="scan_start">
        <source>Scan</source>
        <comment>scan_start</comment>
        <translation>Scan</translation>
    </message>
    <message id="scan_send">
        <source>Send</source>
        <comment>scan_send</comment>
        <translation>Send</translation>
    </message>
    <message id="scan_dont_send">
        <source>Don't send</source>
        <comment>scan_dont_send</comment>
        <translation>Don't send</translation>
    </message>
    <message id="print_title">
        <source>Printing</source>
        <comment>print_title</comment>
        <translation>Printing</translation>
    </message>
    <message id="print_printing">
        <source>The agent sent you a document ({pages} pages). Printing…</source>
        <comment>print_printing</comment>
        <translation>The agent sent you a document ({pages} pages). Printing…</translation>
    </message>
    <message id="print_done">
        <source>Done. Take your printout from the printer.</source>
        <comment>print_done</comment>
        <translation>Done. Take your printout from the printer.</translation>
    </message>
    <message id="print_failed">
        <source>Printing did not succeed. The agent knows about it.</source>
        <comment>print_failed</comment>
        <translation>Printing did not succeed. The agent knows about it.</translation>
    </message>
    <message id="thanks">
        <source>Thank you for your visit</source>
        <comment>thanks</comment>
        <translation>Thank you for your visit</translation>
    </message>
    <message id="reminders">
        <source>Remember to take your ID card, your papers from the scanner and your printouts.</source>
        <comment>reminders</comment>
        <translation>Remember to take your ID card, your papers from the scanner and your printouts.</translation>
    </message>
    <message id="survey_question">
        <source>How satisfied were you with the service?</source>
        <comment>survey_question</comment>
        <translation>How satisfied were you with the service?</translation>
    </message>
    <message id="rating_1">
        <source>poor</source>
        <comment>rating_1</comment>
        <translation>poor</translation>
    </message>
    <message id="rating_2">
        <source>fair</source>
        <comment>rating_2</comment>
        <translation>fair</translation>
    </message>
    <message id="rating_3">
        <source>average</source>
        <comment>rating_3</comment>
        <translation>average</translation>
    </message>
    <message id="rating_4">
        <source>good</source>
        <comment>rating_4</comment>
        <translation>good</translation>
    </message>
    <message id="rating_5">
        <source>excellent</source>
        <comment>rating_5</comment>
        <translation>excellent</translation>
    </message>
    <message id="ended_network">
        <source>The connection was lost and did not come back.</source>
        <comment>ended_network</comment>
        <translation>The connection was lost and did not come back.</translation>
    </message>
    <message id="ended_queue_timeout">
        <source>Nobody could answer in time. Please try again later.</source>
        <comment>ended_queue_timeout</comment>
        <translation>Nobody could answer in time. Please try again later.</translation>
    </message>
    <message id="ended_queue_closed">
        <source>The service hours ended before your turn.</source>
        <comment>ended_queue_closed</comment>
        <translation>The service hours ended before your turn.</translation>
    </message>
    <message id="ended_queue_unavailable">
        <source>The connection to the service is not working now. Please ask the library staff.</source>
        <comment>ended_queue_unavailable</comment>
        <translation>The connection to the service is not working now. Please ask the library staff.</translation>
    </message>
    <message id="ended_queue_network_lost">
        <source>The connection was lost while you waited and did not come back in time. Please try again shortly.</source>
        <comment>ended_queue_network_lost</comment>
        <translation>The connection was lost while you waited and did not come back in time. Please try again shortly.</translation>
    </message>
    <message id="ended_other">
        <source>The call ended.</source>
        <comment>ended_other</comment>
        <translation>The call ended.</translation>
    </message>
    <message id="staff_title">
        <source>Staff</source>
        <comment>staff_title</comment>
        <translation>Staff</translation>
    </message>
    <message id="staff_enter_pin">
        <source>Staff PIN code</source>
        <comment>staff_enter_pin</comment>
        <translation>Staff PIN code</translation>
    </message>
    <message id="staff_wrong_pin">
        <source>Wrong PIN code.</source>
        <comment>staff_wrong_pin</comment>
        <translation>Wrong PIN code.</translation>
    </message>
    <message id="staff_locked">
        <source>Too many wrong tries. Try again in 5 minutes.</source>
        <comment>staff_locked</comment>
        <translation>Too many wrong tries. Try again in 5 minutes.</translation>
    </message>
    <message id="staff_close">
        <source>Close</source>
        <comment>staff_close</comment>
        <translation>Close</translation>
    </message>
    <message id="staff_out_of_service">
        <source>Take out of service</source>
        <comment>staff_out_of_service</comment>
        <translation>Take out of service</translation>
    </message>
    <message id="staff_back_in_service">
        <source>Put back in service</source>
        <comment>staff_back_in_service</comment>
        <translation>Put back in service</translation>
    </message>
    <message id="staff_message">
        <source>Message to customers</source>
        <comment>staff_message</comment>
        <translation>Message to customers</translation>
    </message>
    <message id="staff_test_print">
        <source>Test print</source>
        <comment>staff_test_print</comment>
        <translation>Test print</translation>
    </message>
    <message id="staff_test_scan">
        <source>Test scan</source>
        <comment>staff_test_scan</comment>
        <translation>Test scan</translation>
    </message>
    <message id="staff_test_av">
        <source>Camera and microphone test</source>
        <comment>staff_test_av</comment>
        <translation>Camera and microphone test</translation>
    </message>
    <message id="staff_sessions_today">
        <source>Sessions today: {count}</source>
        <comment>staff_sessions_today</comment>
        <translation>Sessions today: {count}</translation>
    </message>
    <message id="staff_support">
        <source>Support: {contact}</source>
        <comment>staff_support</comment>
        <translation>Support: {contact}</translation>
    </message>
    <message id="health_ok">
        <source>working</source>
        <comment>health_ok</comment>
        <translation>working</translation>
    </message>
    <message id="health_fault">
        <source>fault</source>
        <comment>health_fault</comment>
        <translation>fault</translation>
    </message>
    <message id="health_missing">
        <source>missing</source>
        <comment>health_missing</comment>
        <translation>missing</translation>
    </message>
    <message id="health_unknown">
        <source>unknown</source>
        <comment>health_unknown</comment>
        <translation>unknown</translation>
    </message>
    <message id="device.switchboard">
        <source>service connection</source>
        <comment>device.switchboard</comment>
        <translation>service connection</translation>
    </message>
    <message id="device.broker">
        <source>remote management</source>
        <comment>device.broker</comment>
        <translation>remote management</translation>
    </message>
    <message id="staff_locked_until">
        <source>Too many wrong PIN codes. Staff mode is locked until {time}.</source>
        <comment>staff_locked_until</comment>
        <translation>Too many wrong PIN codes. Staff mode is locked until {time}.</translation>
    </message>
    <message id="keyboard.shift">
        <source>Capital letters</source>
        <comment>keyboard.shift</comment>
        <translation>Capital letters</translation>
    </message>
    <message id="keyboard.shift_locked">
        <source>Capital letters locked</source>
        <comment>keyboard.shift_locked</comment>
        <translation>Capital letters locked</translation>
    </message>
    <message id="keyboard.backspace">
        <source>Delete character</source>
        <comment>keyboard.backspace</comment>
        <translation>Delete character</translation>
    </message>
    <message id="keyboard.space">
        <source>space</source>
        <comment>keyboard.space</comment>
        <translation>space</translation>
    </message>
    <message id="keyboard.enter">
        <source>New line</source>
        <comment>keyboard.enter</comment>
        <translation>New line</translation>
    </message>
    <message id="pin.ok">
        <source>OK</source>
        <comment>pin.ok</comment>
        <translation>OK</translation>
    </message>
    <message id="pin.backspace">
        <source>Delete digit</source>
        <comment>pin.backspace</comment>
        <translation>Delete digit</translation>
    </message>
    <message id="pin.entered">
        <source>Digits entered: {count}</source>
        <comment>pin.entered</comment>
        <translation>Digits entered: {count}</translation>
    </message>
</context>
</TS>
