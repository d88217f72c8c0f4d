// Frame devices for Node: only what JavaScript cannot do. Two classes share one core (FrameFd):
// it polls a non-blocking fd in libuv, reads every frame that is ready into one buffer and
// hands the batch to JavaScript in one call, and writes frames in order, in batches, with a
// bounded wait queue for when the fd is full. Every frame is stamped (uv_hrtime, milliseconds)
// right after the read(2) that took it or the write(2) that delivered it: a capture must show
// when a frame crossed the device, not when JavaScript got round to it (a busy event loop reads
// late and flushes late, and a pcap stamped in JavaScript would blame the peer for that).
// Addresses, link state and MTU are set from TypeScript with iproute2.
//
// - TapDevice opens /dev/net/tun with IFF_TAP | IFF_NO_PI (TUNSETIFF): our stack's side of a
//   TAP. Frames are whole Ethernet frames without a packet-information header (IFF_NO_PI). The
//   device has no offloads (no TUNSETOFFLOAD, no IFF_VNET_HDR), so the kernel hands over
//   frames no larger than MTU + 14 with checksums filled in.
// - PacketSocket opens an AF_PACKET SOCK_RAW socket for every protocol (ETH_P_ALL) bound to one
//   interface (packet(7)): the *kernel's* side of that interface. Frames written to it leave
//   through the interface (for a TAP: towards the fd's reader, our stack); it receives every
//   frame the interface receives (for a TAP: what our stack writes, whatever its destination
//   MAC). Frames the interface sends (PACKET_OUTGOING: the kernel's own, and the socket's own
//   writes looped back) are skipped and counted, so the reader sees only what arrived.

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

namespace {

// One read returns one frame; it is given room for the largest frame a TAP can carry (MTU up
// to 65535 plus the Ethernet and a VLAN header), so a frame is never truncated.
constexpr size_t kMaxFrameRead = 65535 + 14 + 4;
// Frames of one batch are packed back to back into this slab, then copied out in one piece.
constexpr size_t kSlabBytes = 1 << 20;
// Frames waiting for the fd to become writable again; beyond this they are dropped and
// counted (txQueueDrops), never silently.
constexpr size_t kMaxQueuedFrames = 4096;

std::string ErrnoText(const char* what, int err) { return std::string(what) + ": " + strerror(err); }

// The stamp of a frame: libuv's monotonic clock (process.hrtime's) in milliseconds.
double NowMs() { return static_cast<double>(uv_hrtime()) / 1e6; }

// The shared core. Self provides:
//   static constexpr const char* kClassName;
//   ssize_t ReadFrame(uint8_t* buf, size_t cap, bool* skip);  // read(2) semantics; *skip drops it
//   void ExtraStats(Napi::Object& o);                           // its own counters
// and opens its fd in its constructor, then calls Start().
template <typename Self>
class FrameFd : public Napi::ObjectWrap<Self> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    using Wrap = Napi::ObjectWrap<Self>;
    Napi::Function cls = Wrap::DefineClass(env, Self::kClassName,
                                           {
                                               Wrap::InstanceAccessor("name", &FrameFd::Name, nullptr),
                                               Wrap::InstanceMethod("writeBatch", &FrameFd::WriteBatch),
                                               Wrap::InstanceMethod("stats", &FrameFd::Stats),
                                               Wrap::InstanceMethod("close", &FrameFd::Close),
                                           });
    exports.Set(Self::kClassName, cls);
    return exports;
  }

  ~FrameFd() override {
    Release();
    // Destroyed here, not in Release: close() may run inside a callback that still uses it.
    delete async_context_;
  }

 protected:
  explicit FrameFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {}

  // Both constructors take (name: string, lengths: Uint32Array, stamps: Float64Array,
  // onBatch(buf, count), onError(message), onWritten(stamps: Float64Array)): a batch's frame
  // lengths and read stamps are in lengths/stamps; onWritten stamps frames that had waited for
  // writability, in the order they were queued.
  // Reads the name; false, with a JavaScript exception pending, when the arguments are wrong.
  static bool CheckArgs(const Napi::CallbackInfo& info, std::string* name) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
        !info[3].IsFunction() || !info[4].IsFunction() || !info[5].IsFunction()) {
      Napi::TypeError::New(env, std::string(Self::kClassName) +
                                    "(name: string, lengths: Uint32Array, stamps: Float64Array, onBatch, onError, onWritten)")
          .ThrowAsJavaScriptException();
      return false;
    }
    *name = info[0].As<Napi::String>().Utf8Value();
    if (name->size() >= IFNAMSIZ) {
      Napi::Error::New(env, "interface name '" + *name + "' is longer than " + std::to_string(IFNAMSIZ - 1) + " characters")
          .ThrowAsJavaScriptException();
      return false;
    }
    Napi::TypedArray lengths = info[1].As<Napi::TypedArray>();
    if (lengths.TypedArrayType() != napi_uint32_array || lengths.ElementLength() == 0) {
      Napi::TypeError::New(env, "lengths must be a non-empty Uint32Array").ThrowAsJavaScriptException();
      return false;
    }
    Napi::TypedArray stamps = info[2].As<Napi::TypedArray>();
    if (stamps.TypedArrayType() != napi_float64_array || stamps.ElementLength() != lengths.ElementLength()) {
      Napi::TypeError::New(env, "stamps must be a Float64Array as long as lengths").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // Takes ownership of the open, non-blocking fd and starts polling it. lengths.length bounds a batch.
  void Start(const Napi::CallbackInfo& info, int fd, const std::string& name) {
    Napi::Env env = info.Env();
    slab_ = static_cast<uint8_t*>(malloc(kSlabBytes));
    poll_ = new uv_poll_t;
    uv_loop_t* loop = nullptr;
    if (slab_ == nullptr || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll_, fd) != 0) {
      ::close(fd);
      free(slab_);
      slab_ = nullptr;
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(env, std::string("cannot poll the ") + Self::kClassName).ThrowAsJavaScriptException();
      return;
    }
    fd_ = fd;
    name_ = name;
    poll_->data = this;
    lengths_ = Napi::Persistent(info[1].As<Napi::Uint32Array>());
    stamps_ = Napi::Persistent(info[2].As<Napi::Float64Array>());
    on_batch_ = Napi::Persistent(info[3].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[4].As<Napi::Function>());
    on_written_ = Napi::Persistent(info[5].As<Napi::Function>());
    async_context_ = new Napi::AsyncContext(env, Self::kClassName);
    // An open device is like an open socket: it keeps itself (and the event loop) alive until
    // close(), so a frame never arrives at a collected object.
    this->Ref();
    UpdatePoll();
  }

  int fd() const { return fd_; }

 private:
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

  // writeBatch(frames: Uint8Array[], count: number, stamps: Float64Array): writes frames[0..count)
  // in order; stamps[i] is when frame i was written, NaN when it waits for writability (its
  // stamp comes through onWritten), -1 when it was refused or dropped.
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsTypedArray() ||
        info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, "writeBatch(frames: Uint8Array[], count: number, stamps: Float64Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (fd_ < 0) {
      Napi::Error::New(env, std::string(Self::kClassName) + " is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array frames = info[0].As<Napi::Array>();
    Napi::Float64Array stamps = info[2].As<Napi::Float64Array>();
    uint32_t count = info[1].As<Napi::Number>().Uint32Value();
    if (count > frames.Length()) count = frames.Length();
    if (count > stamps.ElementLength()) count = static_cast<uint32_t>(stamps.ElementLength());
    for (uint32_t i = 0; i < count; i++) {
      Napi::Value v = frames.Get(i);
      if (!v.IsTypedArray()) {
        Napi::TypeError::New(env, "frames must be Uint8Arrays").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      Napi::Uint8Array frame = v.As<Napi::Uint8Array>();
      stamps[i] = WriteOne(frame.Data(), frame.ByteLength());
    }
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxFrames", static_cast<double>(rx_frames_));
    o.Set("rxBytes", static_cast<double>(rx_bytes_));
    o.Set("rxBatches", static_cast<double>(rx_batches_));
    o.Set("rxErrors", static_cast<double>(rx_errors_));
    o.Set("txFrames", static_cast<double>(tx_frames_));
    o.Set("txBytes", static_cast<double>(tx_bytes_));
    o.Set("txDeferred", static_cast<double>(tx_deferred_));
    o.Set("txDeferredMaxMs", tx_deferred_max_ms_);
    o.Set("txQueued", static_cast<double>(queue_.size()));
    o.Set("txQueueDrops", static_cast<double>(tx_queue_drops_));
    o.Set("txErrors", static_cast<double>(tx_errors_));
    o.Set("lastError", last_error_.empty() ? env.Undefined() : Napi::String::New(env, last_error_));
    static_cast<Self*>(this)->ExtraStats(o);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      // Frames still queued for writability are dropped and counted: close does not block.
      tx_queue_drops_ += queue_.size();
      Release();
      this->Unref();
    }
    return info.Env().Undefined();
  }

  // Stops polling, closes the fd (a non-persistent TAP device vanishes with it) and frees the
  // buffers. Safe to call twice.
  void Release() {
    if (fd_ < 0) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    free(slab_);
    slab_ = nullptr;
    queue_.clear();
    lengths_.Reset();
    stamps_.Reset();
    on_batch_.Reset();
    on_error_.Reset();
    on_written_.Reset();
  }

  // Writes one frame, or queues it behind those waiting for writability. Returns its write
  // stamp, NaN when it was queued, -1 when it was refused or dropped.
  double WriteOne(const uint8_t* data, size_t len) {
    // Order is kept: once anything waits for writability, later frames queue behind it.
    if (queue_.empty()) {
      for (;;) {
        ssize_t r = write(fd_, data, len);
        if (r >= 0) {
          tx_frames_++;
          tx_bytes_ += len;
          return NowMs();
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
          // EINVAL (runt frame), EIO/ENETDOWN (device down), EMSGSIZE: the frame is refused;
          // counted, not thrown, because a link never throws at the sender for one bad frame.
          tx_errors_++;
          last_error_ = ErrnoText("write", errno);
          return -1;
        }
        break;
      }
    }
    if (queue_.size() >= kMaxQueuedFrames) {
      tx_queue_drops_++;
      return -1;
    }
    tx_deferred_++;
    queue_.push_back(Queued{std::vector<uint8_t>(data, data + len), NowMs()});
    UpdatePoll();
    return NAN;
  }

  void UpdatePoll() {
    if (broken_) {
      uv_poll_stop(poll_);
      poll_events_ = 0;
      return;
    }
    int events = UV_READABLE | (queue_.empty() ? 0 : UV_WRITABLE);
    if (events == poll_events_) return;
    poll_events_ = events;
    uv_poll_start(poll_, events, OnPoll);
  }

  // A read or poll error other than EAGAIN means the device is gone (e.g. deleted under us):
  // polling stops, so a level-triggered error cannot spin the loop, and JavaScript is told once.
  void Fail(const std::string& message) {
    broken_ = true;
    UpdatePoll();
    ReportError(message);
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    FrameFd* self = static_cast<FrameFd*>(handle->data);
    if (status < 0) {
      // libuv reports POLLERR as EBADF; a socket's own pending error says what happened
      // (ENETDOWN when the interface went away). A TAP fd is no socket: libuv's text stays.
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        self->Fail(ErrnoText("socket", err));
      } else {
        self->Fail(std::string("poll: ") + uv_strerror(status));
      }
      return;
    }
    if ((events & UV_WRITABLE) && self->fd_ >= 0) self->FlushQueue();
    if ((events & UV_READABLE) && self->fd_ >= 0) self->ReadBatch();
  }

  // Writes what waited for writability and tells JavaScript when each frame left (-1: refused).
  void FlushQueue() {
    std::vector<double> written;
    while (!queue_.empty()) {
      const Queued& f = queue_.front();
      ssize_t r = write(fd_, f.bytes.data(), f.bytes.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
        tx_errors_++;
        last_error_ = ErrnoText("write", errno);
        written.push_back(-1);
      } else {
        tx_frames_++;
        tx_bytes_ += f.bytes.size();
        double now = NowMs();
        if (now - f.queued_ms > tx_deferred_max_ms_) tx_deferred_max_ms_ = now - f.queued_ms;
        written.push_back(now);
      }
      queue_.pop_front();
    }
    UpdatePoll();
    if (written.empty()) return;
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Float64Array stamps = Napi::Float64Array::New(env, written.size());
    for (size_t i = 0; i < written.size(); i++) stamps[i] = written[i];
    Call(on_written_, {stamps});
  }

  // Reads every frame that is ready (up to one batch), then makes one call into JavaScript.
  // The poll is level-triggered, so frames beyond the batch limit wake the loop again after
  // timers and other I/O had their turn. Skipped frames count against a bound of their own.
  void ReadBatch() {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Uint32Array lengths = lengths_.Value();
    uint32_t* lens = lengths.Data();
    double* stamps = stamps_.Value().Data();
    size_t max_frames = lengths.ElementLength();
    size_t off = 0;
    uint32_t n = 0;
    std::string error;
    for (size_t reads = 0; n < max_frames && reads < 2 * max_frames && kSlabBytes - off >= kMaxFrameRead; reads++) {
      bool skip = false;
      ssize_t r = static_cast<Self*>(this)->ReadFrame(slab_ + off, kMaxFrameRead, &skip);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          rx_errors_++;
          error = ErrnoText("read", errno);
        }
        break;
      }
      if (r == 0) break;
      if (skip) continue;
      stamps[n] = NowMs();
      lens[n++] = static_cast<uint32_t>(r);
      off += static_cast<size_t>(r);
    }
    if (n > 0) {
      rx_frames_ += n;
      rx_bytes_ += off;
      rx_batches_++;
      Napi::Buffer<uint8_t> batch = Napi::Buffer<uint8_t>::Copy(env, slab_, off);
      Call(on_batch_, {batch, Napi::Number::New(env, n)});
    }
    if (!error.empty() && fd_ >= 0) Fail(error);
  }

  void ReportError(const std::string& message) {
    last_error_ = message;
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Call(on_error_, {Napi::String::New(env, message)});
  }

  // MakeCallback (not Call) so that promise jobs queued by the receiver run right after the
  // batch, as they do after any other I/O callback. A throwing receiver becomes an uncaught
  // exception of the process, as it would in a socket's 'data' handler.
  void Call(Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    if (fn.IsEmpty() || async_context_ == nullptr) return;
    Napi::Env env = this->Env();
    // Copy the function first: the callback may close the device and reset the reference.
    Napi::Function f = fn.Value();
    f.MakeCallback(this->Value(), args, *async_context_);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  int fd_ = -1;
  std::string name_;
  uv_poll_t* poll_ = nullptr;
  int poll_events_ = 0;
  bool broken_ = false;
  uint8_t* slab_ = nullptr;
  struct Queued {
    std::vector<uint8_t> bytes;
    double queued_ms;
  };
  std::deque<Queued> queue_;
  Napi::Reference<Napi::Uint32Array> lengths_;
  Napi::Reference<Napi::Float64Array> stamps_;
  Napi::FunctionReference on_batch_;
  Napi::FunctionReference on_error_;
  Napi::FunctionReference on_written_;
  Napi::AsyncContext* async_context_ = nullptr;
  std::string last_error_;
  uint64_t rx_frames_ = 0, rx_bytes_ = 0, rx_batches_ = 0, rx_errors_ = 0;
  uint64_t tx_frames_ = 0, tx_bytes_ = 0, tx_deferred_ = 0, tx_queue_drops_ = 0, tx_errors_ = 0;
  // The longest a frame waited for writability, in milliseconds.
  double tx_deferred_max_ms_ = 0;
};

// new TapDevice(name, lengths, onBatch, onError): name "" lets the kernel choose (tap0, tap1, ...).
class TapDevice : public FrameFd<TapDevice> {
 public:
  static constexpr const char* kClassName = "TapDevice";

  explicit TapDevice(const Napi::CallbackInfo& info) : FrameFd<TapDevice>(info) {
    Napi::Env env = info.Env();
    std::string name;
    if (!CheckArgs(info, &name)) return;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      Napi::Error::New(env, ErrnoText("open /dev/net/tun", errno)).ThrowAsJavaScriptException();
      return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      ::close(fd);
      std::string what = name.empty() ? "TUNSETIFF" : "TUNSETIFF " + name;
      Napi::Error::New(env, ErrnoText(what.c_str(), err)).ThrowAsJavaScriptException();
      return;
    }
    Start(info, fd, ifr.ifr_name);
  }

  ssize_t ReadFrame(uint8_t* buf, size_t cap, bool* /*skip*/) { return read(fd(), buf, cap); }
  void ExtraStats(Napi::Object& /*o*/) {}
};

// new PacketSocket(ifname, lengths, onBatch, onError): the kernel's side of an existing interface.
class PacketSocket : public FrameFd<PacketSocket> {
 public:
  static constexpr const char* kClassName = "PacketSocket";

  explicit PacketSocket(const Napi::CallbackInfo& info) : FrameFd<PacketSocket>(info) {
    Napi::Env env = info.Env();
    std::string name;
    if (!CheckArgs(info, &name)) return;
    unsigned int ifindex = if_nametoindex(name.c_str());
    if (ifindex == 0) {
      Napi::Error::New(env, ErrnoText(("interface " + name).c_str(), errno)).ThrowAsJavaScriptException();
      return;
    }
    // Protocol 0 at socket(): the socket receives nothing until bind() names the protocol and
    // the interface, so no frame of another interface slips in between (packet(7)).
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      Napi::Error::New(env, ErrnoText("socket(AF_PACKET, SOCK_RAW)", errno)).ThrowAsJavaScriptException();
      return;
    }
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(ifindex);
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) < 0) {
      int err = errno;
      ::close(fd);
      Napi::Error::New(env, ErrnoText(("bind AF_PACKET to " + name).c_str(), err)).ThrowAsJavaScriptException();
      return;
    }
    Start(info, fd, name);
  }

  ssize_t ReadFrame(uint8_t* buf, size_t cap, bool* skip) {
    struct sockaddr_ll from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(fd(), buf, cap, 0, reinterpret_cast<struct sockaddr*>(&from), &len);
    if (r >= 0 && from.sll_pkttype == PACKET_OUTGOING) {
      rx_outgoing_++;
      *skip = true;
    }
    return r;
  }

  void ExtraStats(Napi::Object& o) { o.Set("rxOutgoing", static_cast<double>(rx_outgoing_)); }

 private:
  uint64_t rx_outgoing_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TapDevice::Init(env, exports);
  return PacketSocket::Init(env, exports);
}

}  // namespace

NODE_API_MODULE(tap, Init)
