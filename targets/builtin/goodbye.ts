import { SERVICE_BACKLOG, type BuiltinService } from '../target.js';

/** The string the seed's unikernel writes before it closes. */
export const GOODBYE_MESSAGE = 'I made a string!\n';

/**
 * The seed's unikernel (minnesota-goodbye.txt): on each connection write a short string and
 * close, without waiting for the client. A correct stack sends the string then a FIN; with the
 * `minnesota-goodbye` bug profile the close runs in SYN_RCVD and no FIN is ever sent.
 */
export const goodbye: BuiltinService = {
  name: 'goodbye',
  port: 19,
  summary: 'writes "I made a string!" and closes each connection (the seed\'s unikernel, port 19)',
  defaultPayload: 'hi mom\\n',
  serve(stack) {
    stack.listen(this.port, (sock) => {
      sock.on('error', () => undefined);
      // Whatever the client sends is read and dropped, so a peer's data never stalls our window.
      sock.resume();
      sock.write(GOODBYE_MESSAGE);
      sock.end();
    }, { backlog: SERVICE_BACKLOG });
  },
  check(_sent, received) {
    const text = Buffer.from(received).toString('latin1');
    return text === GOODBYE_MESSAGE ? undefined : `expected ${JSON.stringify(GOODBYE_MESSAGE)}, got ${JSON.stringify(text.slice(0, 64))}`;
  },
};
