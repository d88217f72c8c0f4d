/**
 * State names as Linux's /proc/net/tcp and `ss` print them, so one histogram reads the same
 * whether the peers were kernel sockets (tap) or our own client stack (sim).
 */
const FROM_MIRAGE: Record<string, string> = {
  Closed: 'CLOSE',
  Listen: 'LISTEN',
  Syn_rcvd: 'SYN_RECV',
  Syn_sent: 'SYN_SENT',
  Established: 'ESTABLISHED',
  Close_wait: 'CLOSE_WAIT',
  Last_ack: 'LAST_ACK',
  Fin_wait_1: 'FIN_WAIT1',
  Fin_wait_2: 'FIN_WAIT2',
  Closing: 'CLOSING',
  Time_wait: 'TIME_WAIT',
};

export function linuxStateName(mirageName: string): string {
  return FROM_MIRAGE[mirageName] ?? mirageName.toUpperCase();
}
