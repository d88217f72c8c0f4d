import { SERVICE_BACKLOG, type BuiltinService } from '../target.js';
import { firstDifference } from './compare.js';

/** RFC 862 echo on port 7: every byte back; the peer's FIN is answered with ours once all is echoed. */
export const echo: BuiltinService = {
  name: 'echo',
  port: 7,
  summary: 'RFC 862 echo on port 7: sends every byte back, closes after the client does',
  defaultPayload: 'gen:1024',
  serve(stack) {
    stack.listen(this.port, (sock) => {
      sock.on('error', () => undefined);
      // pipe() ends the writable side when the readable side ends: half-close is echoed too.
      sock.pipe(sock);
    }, { backlog: SERVICE_BACKLOG });
  },
  check(sent, received) {
    return firstDifference(sent, received);
  },
};
