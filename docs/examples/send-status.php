<?php
// Sends an SMS, reads its status and shows how a refusal looks, with PHP's own HTTP streams
// (php-cli, no extension) and JSON answers: with output=json every processed request is answered
// HTTP 200 and the protocol code is in the body.
// Environment: SMSGW_BASE_URL (default http://127.0.0.1:8080), SMSGW_LOGIN, SMSGW_PASSWORD,
// SMSGW_TO (default 79036550550), SMSGW_TEXT.

$base = getenv('SMSGW_BASE_URL') ?: 'http://127.0.0.1:8080';
$credentials = ['serviceId' => getenv('SMSGW_LOGIN'), 'pass' => getenv('SMSGW_PASSWORD')];

class Refused extends Exception {}

/** One request; the answer when its code is 200, else Refused (getCode() is the protocol code). */
function call(string $path, array $params): array
{
    global $base, $credentials;
    $query = http_build_query($credentials + $params + ['output' => 'json'], '', '&', PHP_QUERY_RFC3986);
    $context = stream_context_create(['http' => ['timeout' => 30, 'ignore_errors' => true]]);
    $raw = file_get_contents("$base$path?$query", false, $context);
    $body = $raw === false ? null : json_decode($raw, true);
    if (!is_array($body) || !isset($body['code'])) {
        // Not a protocol answer: the platform unreachable, or starting (503).
        throw new RuntimeException("no protocol answer from $path: " . ($http_response_header[0] ?? 'no connection'));
    }
    if ($body['code'] !== 200) throw new Refused($body['text'], $body['code']);
    return $body;
}

$sent = call('/send', [
    'clientId' => getenv('SMSGW_TO') ?: '79036550550',
    'message' => getenv('SMSGW_TEXT') ?: 'Hello from PHP',
    'partnerMsgId' => bin2hex(random_bytes(8)), // a retry with the same id is answered, not sent again
]);
echo "sent: {$sent['id']} ({$sent['segments']} segment(s))\n";

$status = call('/status', ['transactionId' => $sent['id']]);
$line = $status['messages'][0];
echo "status: {$line['transactionId']} {$line['status']}\n";

try {
    call('/send', ['clientId' => '12345', 'message' => 'This one is refused']);
    fwrite(STDERR, "expected a refusal\n");
    exit(1);
} catch (Refused $e) {
    echo "refused: {$e->getCode()} {$e->getMessage()}\n";
}
