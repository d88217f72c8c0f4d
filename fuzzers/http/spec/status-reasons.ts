/**
 * The reason phrase a response gets when the spec has no `m`: pathod 6.0.2's table (mitmproxy
 * `net/http/status_codes.py`), typos and all ("Reset Content."), and "Unknown code" for the rest.
 */
const REASONS: ReadonlyMap<number, string> = new Map([
  [100, 'Continue'],
  [101, 'Switching Protocols'],
  [200, 'OK'],
  [201, 'Created'],
  [202, 'Accepted'],
  [203, 'Non-Authoritative Information'],
  [204, 'No Content'],
  [205, 'Reset Content.'],
  [206, 'Partial Content'],
  [207, 'Multi-Status'],
  [300, 'Multiple Choices'],
  [301, 'Moved Permanently'],
  [302, 'Found'],
  [303, 'See Other'],
  [304, 'Not Modified'],
  [305, 'Use Proxy'],
  [307, 'Temporary Redirect'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [402, 'Payment Required'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [406, 'Not Acceptable'],
  [407, 'Proxy Authentication Required'],
  [408, 'Request Time-out'],
  [409, 'Conflict'],
  [410, 'Gone'],
  [411, 'Length Required'],
  [412, 'Precondition Failed'],
  [413, 'Payload Too Large'],
  [414, 'Request-URI Too Long'],
  [415, 'Unsupported Media Type'],
  [416, 'Requested Range not satisfiable'],
  [417, 'Expectation Failed'],
  [418, "I'm a teapot"],
  [444, 'No Response'],
  [499, 'Client Closed Request'],
  [500, 'Internal Server Error'],
  [501, 'Not Implemented'],
  [502, 'Bad Gateway'],
  [503, 'Service Unavailable'],
  [504, 'Gateway Time-out'],
  [505, 'HTTP Version not supported'],
  [507, 'Insufficient Storage Space'],
  [510, 'Not Extended'],
]);

/** `code` is the status digits as written (pathod keeps leading zeros on the wire: `0200`). */
export function reasonPhrase(code: string): string {
  return REASONS.get(Number(code)) ?? 'Unknown code';
}
