/*
 * A small lwIP server on a TAP device, for tcpfuzz's `tap:` target kind (docs/foreign-stacks.md).
 *
 * The stack is Debian's liblwip (2.1.3, built NO_SYS=0 with core locking: lwIP runs in its own
 * tcpip thread and callers take the core lock). The TAP read/write loop is ours: the main thread
 * reads frames from the device and hands them to lwIP (tcpip_input); lwIP's linkoutput writes
 * them back. Services, on lwIP's raw TCP API:
 *   goodbye  79  writes "I made a string!\n", shuts its sending side, drops what it reads, and
 *                closes once the client has (the seed's unikernel, without its bug)
 *   echo      7  RFC 862: every byte back; closes after the client does, once all is echoed
 *   discard   9  RFC 863: drops every byte; closes after the client does
 *   chargen  19  RFC 864-like: sends --chargen-bytes of the rotating pattern, then closes
 *
 * Options (each defaults to the environment variable tcpfuzz sets):
 *   --tap NAME     TCPFUZZ_TAP          the TAP device to open (it must exist, or we create it)
 *   --ip A         TCPFUZZ_STACK_IP     this stack's address
 *   --gw A         TCPFUZZ_KERNEL_IP    the kernel side's address
 *   --prefix N     TCPFUZZ_PREFIX_LEN   prefix length (default 24)
 *   --chargen-bytes N                   bytes a chargen connection sends (default 1 MiB)
 *   --crash-after N                     abort() when connection N+1 arrives (to test crash reports)
 * SIGTERM and SIGINT end it with exit code 0, so a wrapper (valgrind) can report at exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

#define FRAME_MAX 1518

static int tap_fd = -1;
static struct netif tap_netif;
static volatile sig_atomic_t stopping = 0;
static long chargen_bytes = 1 << 20;
static long crash_after = -1;
static long accepted = 0;

static const char GOODBYE[] = "I made a string!\n";

static void die(const char *what) {
  fprintf(stderr, "lwip-server: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "lwip-server: %s\nusage: server [--tap NAME] [--ip A] [--gw A] [--prefix N] [--chargen-bytes N] [--crash-after N]\n", why);
  exit(2);
}

/* ---- the TAP device ---------------------------------------------------------------------- */

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  return fd;
}

/* lwIP's output, in the tcpip thread: one whole frame per write (LWIP_NETIF_TX_SINGLE_PBUF). */
static err_t tap_linkoutput(struct netif *netif, struct pbuf *p) {
  unsigned char buf[FRAME_MAX];
  if (p->tot_len > sizeof buf) return ERR_BUF;
  u16_t n = pbuf_copy_partial(p, buf, p->tot_len, 0);
  if (write(tap_fd, buf, n) != (ssize_t)n) return ERR_IF;
  return ERR_OK;
}

static err_t tap_netif_init(struct netif *netif) {
  netif->name[0] = 't';
  netif->name[1] = 'p';
  netif->output = etharp_output;
  netif->linkoutput = tap_linkoutput;
  netif->mtu = 1500;
  netif->hwaddr_len = ETH_HWADDR_LEN;
  /* Locally administered, derived from the address so two stacks on one lab never clash. */
  u32_t ip = lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(netif)));
  const u8_t mac[ETH_HWADDR_LEN] = {0x02, 0x1f, (u8_t)(ip >> 24), (u8_t)(ip >> 16), (u8_t)(ip >> 8), (u8_t)ip};
  memcpy(netif->hwaddr, mac, sizeof mac);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
  return ERR_OK;
}

/* ---- one connection ---------------------------------------------------------------------- */

enum service { GOODBYE_SVC, ECHO_SVC, DISCARD_SVC, CHARGEN_SVC };

struct conn {
  enum service svc;
  struct pbuf *pending; /* echo: received bytes not yet written */
  long to_send;         /* chargen: bytes still to queue */
  long sent_pattern;    /* chargen: position in the pattern */
  int peer_closed;
  int tx_shut;
};

static void conn_free(struct tcp_pcb *pcb, struct conn *c) {
  if (pcb) {
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
  }
  if (c->pending) pbuf_free(c->pending);
  free(c);
}

static err_t conn_close(struct tcp_pcb *pcb, struct conn *c) {
  conn_free(pcb, c);
  if (tcp_close(pcb) != ERR_OK) {
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  return ERR_OK;
}

/* Writes what fits of the service's pending output; closes when the service is done. */
static err_t conn_flush(struct tcp_pcb *pcb, struct conn *c) {
  if (c->svc == ECHO_SVC) {
    while (c->pending && tcp_sndbuf(pcb) > 0) {
      struct pbuf *q = c->pending;
      u16_t n = LWIP_MIN(q->len, tcp_sndbuf(pcb));
      if (tcp_write(pcb, q->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
      tcp_recved(pcb, n);
      if (n == q->len) {
        c->pending = q->next;
        if (c->pending) pbuf_ref(c->pending);
        pbuf_free(q);
      } else {
        pbuf_remove_header(q, n);
        break;
      }
    }
  } else if (c->svc == CHARGEN_SVC) {
    char chunk[1024];
    while (c->to_send > 0 && tcp_sndbuf(pcb) > 0) {
      u16_t n = (u16_t)LWIP_MIN((long)sizeof chunk, LWIP_MIN(c->to_send, (long)tcp_sndbuf(pcb)));
      for (u16_t i = 0; i < n; i++) chunk[i] = (char)(' ' + (c->sent_pattern + i) % 95);
      if (tcp_write(pcb, chunk, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
      c->to_send -= n;
      c->sent_pattern += n;
    }
    if (c->to_send == 0 && !c->tx_shut) {
      c->tx_shut = 1;
      tcp_shutdown(pcb, 0, 1);
    }
  }
  tcp_output(pcb);
  if (c->peer_closed && c->pending == NULL && (c->svc != CHARGEN_SVC || c->to_send == 0)) return conn_close(pcb, c);
  return ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  struct conn *c = arg;
  if (c == NULL) {
    if (p) pbuf_free(p);
    return ERR_OK;
  }
  if (p == NULL) {
    c->peer_closed = 1;
    return conn_flush(pcb, c);
  }
  if (c->svc == ECHO_SVC) {
    /* Acknowledged to the window only once echoed (tcp_recved in conn_flush): back-pressure. */
    if (c->pending) pbuf_cat(c->pending, p);
    else c->pending = p;
    return conn_flush(pcb, c);
  }
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  struct conn *c = arg;
  return c ? conn_flush(pcb, c) : ERR_OK;
}

static void on_err(void *arg, err_t err) {
  struct conn *c = arg;
  /* The pcb is already gone (RST or abort). */
  if (c) conn_free(NULL, c);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  if (crash_after >= 0 && accepted++ >= crash_after) {
    fprintf(stderr, "lwip-server: --crash-after %ld: aborting on connection %ld\n", crash_after, accepted);
    abort();
  }
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) return ERR_MEM;
  c->svc = (enum service)(uintptr_t)arg;
  tcp_arg(pcb, c);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
  if (c->svc == GOODBYE_SVC) {
    tcp_write(pcb, GOODBYE, sizeof GOODBYE - 1, 0);
    c->tx_shut = 1;
    tcp_shutdown(pcb, 0, 1);
  } else if (c->svc == CHARGEN_SVC) {
    c->to_send = chargen_bytes;
    return conn_flush(pcb, c);
  }
  return ERR_OK;
}

static void listen_on(u16_t port, enum service svc) {
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (pcb == NULL || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
    fprintf(stderr, "lwip-server: cannot bind port %u\n", port);
    exit(1);
  }
  pcb = tcp_listen_with_backlog(pcb, 255);
  tcp_arg(pcb, (void *)(uintptr_t)svc);
  tcp_accept(pcb, on_accept);
}

/* ---- set-up and the frame loop ----------------------------------------------------------- */

static const char *opt(int argc, char **argv, const char *name, const char *env, const char *dflt) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  const char *v = env ? getenv(env) : NULL;
  return v && *v ? v : dflt;
}

static void parse_ip(const char *what, const char *text, ip4_addr_t *out) {
  if (text == NULL || !ip4addr_aton(text, out)) usage(what);
}

static void on_signal(int sig) { stopping = 1; }

int main(int argc, char **argv) {
  static const char *known[] = {"--tap", "--ip", "--gw", "--prefix", "--chargen-bytes", "--crash-after"};
  for (int i = 1; i < argc; i += 2) {
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) ok |= strcmp(argv[i], known[k]) == 0;
    if (!ok || i + 1 >= argc) usage("unknown option or missing value");
  }
  const char *tap = opt(argc, argv, "--tap", "TCPFUZZ_TAP", NULL);
  if (tap == NULL) usage("no TAP device (--tap NAME or TCPFUZZ_TAP)");
  ip4_addr_t ip, gw, mask;
  parse_ip("bad or missing --ip / TCPFUZZ_STACK_IP", opt(argc, argv, "--ip", "TCPFUZZ_STACK_IP", NULL), &ip);
  parse_ip("bad or missing --gw / TCPFUZZ_KERNEL_IP", opt(argc, argv, "--gw", "TCPFUZZ_KERNEL_IP", NULL), &gw);
  int prefix = atoi(opt(argc, argv, "--prefix", "TCPFUZZ_PREFIX_LEN", "24"));
  if (prefix < 1 || prefix > 30) usage("--prefix must be 1..30");
  ip4_addr_set_u32(&mask, lwip_htonl(0xffffffffu << (32 - prefix)));
  chargen_bytes = atol(opt(argc, argv, "--chargen-bytes", NULL, "1048576"));
  crash_after = atol(opt(argc, argv, "--crash-after", NULL, "-1"));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  tap_fd = open_tap(tap);
  tcpip_init(NULL, NULL);
  LOCK_TCPIP_CORE();
  netif_add(&tap_netif, &ip, &mask, &gw, NULL, tap_netif_init, tcpip_input);
  netif_set_default(&tap_netif);
  netif_set_up(&tap_netif);
  netif_set_link_up(&tap_netif);
  listen_on(79, GOODBYE_SVC);
  listen_on(7, ECHO_SVC);
  listen_on(9, DISCARD_SVC);
  listen_on(19, CHARGEN_SVC);
  UNLOCK_TCPIP_CORE();
  fprintf(stderr, "lwip-server: lwIP %s on %s as %s/%d, ports 79 7 9 19\n", LWIP_VERSION_STRING, tap, ip4addr_ntoa(&ip), prefix);

  unsigned char buf[FRAME_MAX];
  struct pollfd pfd = {.fd = tap_fd, .events = POLLIN};
  while (!stopping) {
    int r = poll(&pfd, 1, 200);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0) continue;
    ssize_t n = read(tap_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) die("read");
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (p == NULL) continue;
    pbuf_take(p, buf, (u16_t)n);
    if (tap_netif.input(p, &tap_netif) != ERR_OK) pbuf_free(p);
  }
  fprintf(stderr, "lwip-server: stopping\n");
  return 0;
}
