import { SERVICE_BACKLOG, type BuiltinService } from '../target.js';

/** RFC 863 discard on port 9: reads and drops everything; closes after the client does. */
export const discard: BuiltinService = {
  name: 'discard',
  port: 9,
  summary: 'RFC 863 discard on port 9: drops every byte, closes after the client does',
  defaultPayload: 'gen:1024',
  serve(stack) {
    stack.listen(this.port, (sock) => {
      sock.on('error', () => undefined);
      sock.on('end', () => sock.end());
      sock.resume();
    }, { backlog: SERVICE_BACKLOG });
  },
  check(_sent, received) {
    return received.length === 0 ? undefined : `discard sent ${received.length} bytes back`;
  },
};
