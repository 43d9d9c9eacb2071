// The ctnetlink client: conntrack's netlink interface spoken through libmnl,
// so ctkit can read the real kernel's table and counters without linking
// libnetfilter_conntrack (GPL) or parsing another program's text output.
//
// Parsing is done by hand over the raw attribute bytes rather than with
// mnl_attr_parse(): libmnl's walker silently stops at the first malformed
// attribute, while a dump that loses an entry's status or timeout must fail
// loudly. Every length is checked before it is read, so a truncated or
// hostile message yields an Error naming the attribute, never a crash.
// Requests: IPCTNL_MSG_CT_GET + NLM_F_DUMP (AF_UNSPEC: both families),
// IPCTNL_MSG_CT_GET_STATS_CPU (dump, one message per CPU),
// IPCTNL_MSG_CT_GET_STATS (count and max), IPCTNL_MSG_CT_DELETE (flush).
#include "kernel/ctnetlink.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <type_traits>
#include <vector>

#include "proto/sctp.h"
#include "proto/tcp_conn.h"
#include "proto/tracker.h"

namespace ctkit {
namespace {

// NLMSG/NLA alignment (MNL_ALIGN mixes int and size_t).
constexpr size_t Align4(size_t n) { return (n + 3) & ~size_t{3}; }

// One attribute: its type (flags masked off) and payload.
struct Attr {
  uint16_t type;
  const uint8_t* data;
  size_t len;
};

// Walks the attributes in [p, p+len), calling fn(Attr) for each. Fails on
// an attribute whose header or length does not fit. `what` names the
// enclosing structure for the message.
template <class Fn>
[[nodiscard]] Result<void> WalkAttrs(const uint8_t* p, size_t len,
                                     const char* what, Fn fn) {
  size_t off = 0;
  while (off < len) {
    if (len - off < sizeof(nlattr)) {
      return fail(Error::corrupt(
          fmt::format("ctnetlink: {}: truncated attribute header", what)));
    }
    nlattr a{};
    std::memcpy(&a, p + off, sizeof a);
    if (a.nla_len < sizeof(nlattr) || a.nla_len > len - off) {
      return fail(Error::corrupt(
          fmt::format("ctnetlink: {}: attribute {} has bad length {}", what,
                      a.nla_type & NLA_TYPE_MASK, a.nla_len)));
    }
    Attr at{static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK),
            p + off + sizeof(nlattr), a.nla_len - sizeof(nlattr)};
    Result<void> r = fn(at);
    if (!r) return r;
    size_t step = Align4(a.nla_len);
    off += step < len - off ? step : len - off;
  }
  return {};
}

[[nodiscard]] Error BadLen(const char* name, size_t got) {
  return Error::corrupt(
      fmt::format("ctnetlink: attribute {} has length {}", name, got));
}

[[nodiscard]] Result<uint8_t> U8(const Attr& a, const char* name) {
  if (a.len < 1) return fail(BadLen(name, a.len));
  return a.data[0];
}
[[nodiscard]] Result<uint16_t> Be16(const Attr& a, const char* name) {
  if (a.len < 2) return fail(BadLen(name, a.len));
  uint16_t v;
  std::memcpy(&v, a.data, 2);
  return ntohs(v);
}
[[nodiscard]] Result<uint32_t> Be32(const Attr& a, const char* name) {
  if (a.len < 4) return fail(BadLen(name, a.len));
  uint32_t v;
  std::memcpy(&v, a.data, 4);
  return ntohl(v);
}
[[nodiscard]] Result<uint64_t> Be64(const Attr& a, const char* name) {
  if (a.len < 8) return fail(BadLen(name, a.len));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | a.data[i];
  return v;
}

// `*zone` gets the tuple's own zone (CTA_TUPLE_ZONE: a zone set for that
// direction only), if it has one.
[[nodiscard]] Result<void> ParseTuple(const Attr& outer, Family fam, Tuple* t,
                                      uint16_t* zone) {
  t->family = fam;
  bool have_proto = false;
  Result<void> r = WalkAttrs(
      outer.data, outer.len, "CTA_TUPLE", [&](const Attr& a) -> Result<void> {
        if (a.type == CTA_TUPLE_ZONE) {
          auto v = Be16(a, "CTA_TUPLE_ZONE");
          if (!v) return fail(v.error());
          *zone = *v;
          return {};
        }
        if (a.type == CTA_TUPLE_IP) {
          return WalkAttrs(a.data, a.len, "CTA_TUPLE_IP",
                           [&](const Attr& ip) -> Result<void> {
                             size_t want = 0;
                             Address* dst = nullptr;
                             switch (ip.type) {
                               case CTA_IP_V4_SRC:
                                 want = 4, dst = &t->src;
                                 break;
                               case CTA_IP_V4_DST:
                                 want = 4, dst = &t->dst;
                                 break;
                               case CTA_IP_V6_SRC:
                                 want = 16, dst = &t->src;
                                 break;
                               case CTA_IP_V6_DST:
                                 want = 16, dst = &t->dst;
                                 break;
                               default:
                                 return {};
                             }
                             if (ip.len < want)
                               return fail(BadLen("CTA_IP_*", ip.len));
                             std::memset(dst->bytes, 0, sizeof dst->bytes);
                             std::memcpy(dst->bytes, ip.data, want);
                             return {};
                           });
        }
        if (a.type == CTA_TUPLE_PROTO) {
          uint8_t type = 0, code = 0;
          Result<void> pr =
              WalkAttrs(a.data, a.len, "CTA_TUPLE_PROTO",
                        [&](const Attr& pa) -> Result<void> {
                          switch (pa.type) {
                            case CTA_PROTO_NUM: {
                              auto v = U8(pa, "CTA_PROTO_NUM");
                              if (!v) return fail(v.error());
                              t->l4_proto = *v;
                              have_proto = true;
                              return {};
                            }
                            case CTA_PROTO_SRC_PORT:
                            case CTA_PROTO_ICMP_ID:
                            case CTA_PROTO_ICMPV6_ID: {
                              auto v = Be16(pa, "CTA_PROTO_SRC_PORT/ICMP_ID");
                              if (!v) return fail(v.error());
                              t->src_port_or_icmp_id = *v;
                              return {};
                            }
                            case CTA_PROTO_DST_PORT: {
                              auto v = Be16(pa, "CTA_PROTO_DST_PORT");
                              if (!v) return fail(v.error());
                              t->dst_port_or_icmp_type_code = *v;
                              return {};
                            }
                            case CTA_PROTO_ICMP_TYPE:
                            case CTA_PROTO_ICMPV6_TYPE: {
                              auto v = U8(pa, "CTA_PROTO_ICMP_TYPE");
                              if (!v) return fail(v.error());
                              type = *v;
                              return {};
                            }
                            case CTA_PROTO_ICMP_CODE:
                            case CTA_PROTO_ICMPV6_CODE: {
                              auto v = U8(pa, "CTA_PROTO_ICMP_CODE");
                              if (!v) return fail(v.error());
                              code = *v;
                              return {};
                            }
                            default:
                              return {};
                          }
                        });
          if (!pr) return pr;
          if (t->l4_proto == ipproto::kIcmp ||
              t->l4_proto == ipproto::kIcmpv6) {
            t->dst_port_or_icmp_type_code =
                static_cast<uint16_t>(type << 8 | code);
          }
          return {};
        }
        return {};
      });
  if (!r) return r;
  if (!have_proto) {
    return fail(Error::corrupt("ctnetlink: tuple without CTA_PROTO_NUM"));
  }
  return {};
}

[[nodiscard]] Result<void> ParseCounters(const Attr& outer, uint64_t* packets,
                                         uint64_t* bytes) {
  return WalkAttrs(outer.data, outer.len, "CTA_COUNTERS",
                   [&](const Attr& a) -> Result<void> {
                     if (a.type == CTA_COUNTERS_PACKETS) {
                       auto v = Be64(a, "CTA_COUNTERS_PACKETS");
                       if (!v) return fail(v.error());
                       *packets = *v;
                     } else if (a.type == CTA_COUNTERS_BYTES) {
                       auto v = Be64(a, "CTA_COUNTERS_BYTES");
                       if (!v) return fail(v.error());
                       *bytes = *v;
                     }
                     return {};
                   });
}

// CTA_PROTOINFO_SCTP: the state (the two verification tags are not
// shown by conntrack -L and not kept).
[[nodiscard]] Result<void> ParseSctpInfo(const Attr& outer, FlowInfo* f) {
  return WalkAttrs(outer.data, outer.len, "CTA_PROTOINFO_SCTP",
                   [&](const Attr& a) -> Result<void> {
                     if (a.type != CTA_PROTOINFO_SCTP_STATE) return {};
                     auto v = U8(a, "CTA_PROTOINFO_SCTP_STATE");
                     if (!v) return fail(v.error());
                     if (*v >= static_cast<uint8_t>(SctpState::kMax)) {
                       return fail(Error::corrupt(fmt::format(
                           "ctnetlink: SCTP state {} out of range", *v)));
                     }
                     f->state = SctpStateName(static_cast<SctpState>(*v));
                     return {};
                   });
}

// Checks the netlink and nfgenmsg headers; returns the attributes' span.
[[nodiscard]] Result<const nfgenmsg*> Headers(const uint8_t* msg, size_t len,
                                              const uint8_t** attrs,
                                              size_t* attrs_len) {
  if (len < sizeof(nlmsghdr)) {
    return fail(Error::corrupt("ctnetlink: message shorter than nlmsghdr"));
  }
  nlmsghdr h{};
  std::memcpy(&h, msg, sizeof h);
  if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len) {
    return fail(Error::corrupt(fmt::format(
        "ctnetlink: nlmsg_len {} does not fit {} bytes", h.nlmsg_len, len)));
  }
  size_t hdr = Align4(sizeof(nlmsghdr));
  size_t gen = Align4(sizeof(nfgenmsg));
  if (h.nlmsg_len < hdr + gen) {
    return fail(Error::corrupt("ctnetlink: message without nfgenmsg"));
  }
  *attrs = msg + hdr + gen;
  *attrs_len = h.nlmsg_len - hdr - gen;
  return reinterpret_cast<const nfgenmsg*>(msg + hdr);
}

}  // namespace

[[nodiscard]] Result<FlowInfo> ParseCtMessage(const uint8_t* msg, size_t len) {
  const uint8_t* attrs = nullptr;
  size_t alen = 0;
  auto gen = Headers(msg, len, &attrs, &alen);
  if (!gen) return fail(gen.error());
  uint8_t fam_raw = (*gen)->nfgen_family;
  if (fam_raw != AF_INET && fam_raw != AF_INET6) {
    return fail(Error::corrupt(
        fmt::format("ctnetlink: entry of unknown family {}", fam_raw)));
  }
  Family fam = fam_raw == AF_INET ? Family::kIPv4 : Family::kIPv6;
  FlowInfo f;
  bool have_orig = false, have_reply = false, have_timeout = false;
  uint16_t zone = 0, orig_zone = 0, reply_zone = 0;
  Result<void> r = WalkAttrs(
      attrs, alen, "conntrack entry", [&](const Attr& a) -> Result<void> {
        switch (a.type) {
          case CTA_TUPLE_ORIG:
            have_orig = true;
            return ParseTuple(a, fam, &f.original, &orig_zone);
          case CTA_TUPLE_REPLY:
            have_reply = true;
            return ParseTuple(a, fam, &f.reply, &reply_zone);
          case CTA_ZONE: {
            auto v = Be16(a, "CTA_ZONE");
            if (!v) return fail(v.error());
            zone = *v;
            return {};
          }
          case CTA_STATUS: {
            auto v = Be32(a, "CTA_STATUS");
            if (!v) return fail(v.error());
            f.assured = (*v & IPS_ASSURED) != 0;
            f.seen_reply = (*v & IPS_SEEN_REPLY) != 0;
            return {};
          }
          case CTA_TIMEOUT: {
            auto v = Be32(a, "CTA_TIMEOUT");
            if (!v) return fail(v.error());
            have_timeout = true;
            f.timeout_s = *v;
            // So that DumpTimeoutSeconds() gives back what the kernel sent.
            f.remaining_jiffies = static_cast<int32_t>(
                *v > 8000000u ? 2000000000u : *v * kHz + 1);
            return {};
          }
          case CTA_MARK: {
            auto v = Be32(a, "CTA_MARK");
            if (!v) return fail(v.error());
            f.mark = *v;
            return {};
          }
          case CTA_USE: {
            auto v = Be32(a, "CTA_USE");
            if (!v) return fail(v.error());
            f.use = *v;
            return {};
          }
          case CTA_COUNTERS_ORIG:
            f.has_acct = true;
            return ParseCounters(a, &f.packets[0], &f.bytes[0]);
          case CTA_COUNTERS_REPLY:
            f.has_acct = true;
            return ParseCounters(a, &f.packets[1], &f.bytes[1]);
          case CTA_TIMESTAMP:
            return WalkAttrs(a.data, a.len, "CTA_TIMESTAMP",
                             [&](const Attr& ts) -> Result<void> {
                               if (ts.type != CTA_TIMESTAMP_START) return {};
                               auto v = Be64(ts, "CTA_TIMESTAMP_START");
                               if (!v) return fail(v.error());
                               f.has_timestamp = true;
                               f.start_ns = *v;
                               return {};
                             });
          case CTA_PROTOINFO:
            return WalkAttrs(
                a.data, a.len, "CTA_PROTOINFO",
                [&](const Attr& pi) -> Result<void> {
                  if (pi.type == CTA_PROTOINFO_SCTP) {
                    return ParseSctpInfo(pi, &f);
                  }
                  if (pi.type != CTA_PROTOINFO_TCP) return {};
                  return WalkAttrs(
                      pi.data, pi.len, "CTA_PROTOINFO_TCP",
                      [&](const Attr& tcp) -> Result<void> {
                        if (tcp.type != CTA_PROTOINFO_TCP_STATE) return {};
                        auto v = U8(tcp, "CTA_PROTOINFO_TCP_STATE");
                        if (!v) return fail(v.error());
                        if (*v >= static_cast<uint8_t>(TcpState::kMax)) {
                          return fail(Error::corrupt(fmt::format(
                              "ctnetlink: TCP state {} out of range", *v)));
                        }
                        f.state = TcpStateName(static_cast<TcpState>(*v));
                        return {};
                      });
                });
          default:
            return {};
        }
      });
  if (!r) return fail(r.error());
  if (!have_orig || !have_reply) {
    return fail(Error::corrupt("ctnetlink: entry without both tuples"));
  }
  // A zone for both directions comes as CTA_ZONE, one for a single
  // direction inside that direction's tuple.
  if (zone != 0) {
    f.zone = Zone{zone, 0};
  } else if (orig_zone != 0) {
    f.zone = Zone{orig_zone, Zone::kOriginalOnly};
  } else if (reply_zone != 0) {
    f.zone = Zone{reply_zone, Zone::kReplyOnly};
  }
  if (!have_timeout) {
    // Offloaded entries carry no timeout; ctkit never creates those.
    f.timeout_s = 0;
    f.remaining_jiffies = 0;
  }
  return f;
}

[[nodiscard]] Result<Stats> ParseCpuStatsMessage(const uint8_t* msg,
                                                 size_t len) {
  const uint8_t* attrs = nullptr;
  size_t alen = 0;
  auto gen = Headers(msg, len, &attrs, &alen);
  if (!gen) return fail(gen.error());
  Stats s;
  Result<void> r =
      WalkAttrs(attrs, alen, "cpu stats", [&](const Attr& a) -> Result<void> {
        uint64_t* dst = nullptr;
        switch (a.type) {
          case CTA_STATS_FOUND:
            dst = &s.found;
            break;
          case CTA_STATS_INVALID:
            dst = &s.invalid;
            break;
          case CTA_STATS_INSERT:
            dst = &s.insert;
            break;
          case CTA_STATS_INSERT_FAILED:
            dst = &s.insert_failed;
            break;
          case CTA_STATS_DROP:
            dst = &s.drop;
            break;
          case CTA_STATS_EARLY_DROP:
            dst = &s.early_drop;
            break;
          case CTA_STATS_ERROR:
            dst = &s.error;
            break;
          case CTA_STATS_SEARCH_RESTART:
            dst = &s.search_restart;
            break;
          case CTA_STATS_CLASH_RESOLVE:
            dst = &s.clash_resolve;
            break;
          case CTA_STATS_CHAIN_TOOLONG:
            dst = &s.chaintoolong;
            break;
          default:
            return {};
        }
        auto v = Be32(a, "CTA_STATS_*");
        if (!v) return fail(v.error());
        *dst = *v;
        return {};
      });
  if (!r) return fail(r.error());
  return s;
}

namespace {

class MnlClient final : public CtnetlinkClient {
 public:
  explicit MnlClient(mnl_socket* nl)
      : nl_(nl), portid_(mnl_socket_get_portid(nl)), buf_(kBufSize) {}
  ~MnlClient() override { mnl_socket_close(nl_); }
  MnlClient(const MnlClient&) = delete;
  MnlClient& operator=(const MnlClient&) = delete;

  [[nodiscard]] Result<void> DumpTable(
      const std::function<void(const FlowInfo&)>& fn) override {
    auto r = DumpTableWhile([&](const FlowInfo& f) {
      fn(f);
      return true;
    });
    if (!r) return fail(r.error());
    return {};
  }

  [[nodiscard]] Result<bool> DumpTableWhile(
      const std::function<bool(const FlowInfo&)>& fn) override {
    std::optional<Error> err;
    bool complete = true;
    auto r = Request(
        IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, [&](const nlmsghdr* h) {
          auto f =
              ParseCtMessage(reinterpret_cast<const uint8_t*>(h), h->nlmsg_len);
          if (!f) {
            if (!err) err = f.error();
            return true;
          }
          if (fn(*f)) return true;
          complete = false;
          return false;
        });
    if (!r) return fail(r.error());
    if (err) return fail(*err);
    return complete;
  }

  [[nodiscard]] Result<Stats> GetStats() override {
    Stats sum;
    std::optional<Error> err;
    auto r = Request(IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP, AF_UNSPEC,
                     [&](const nlmsghdr* h) {
                       auto s = ParseCpuStatsMessage(
                           reinterpret_cast<const uint8_t*>(h), h->nlmsg_len);
                       if (!s) {
                         if (!err) err = s.error();
                         return;
                       }
                       sum.found += s->found;
                       sum.invalid += s->invalid;
                       sum.insert += s->insert;
                       sum.insert_failed += s->insert_failed;
                       sum.drop += s->drop;
                       sum.early_drop += s->early_drop;
                       sum.error += s->error;
                       sum.search_restart += s->search_restart;
                       sum.clash_resolve += s->clash_resolve;
                       sum.chaintoolong += s->chaintoolong;
                     });
    if (!r) return fail(r.error());
    if (err) return fail(*err);
    return sum;
  }

  [[nodiscard]] Result<KernelGlobalStats> GetGlobalStats() override {
    KernelGlobalStats g;
    std::optional<Error> err;
    bool got = false;
    auto r = Request(
        IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, AF_UNSPEC, [&](const nlmsghdr* h) {
          const uint8_t* attrs = nullptr;
          size_t alen = 0;
          auto hd = Headers(reinterpret_cast<const uint8_t*>(h), h->nlmsg_len,
                            &attrs, &alen);
          if (!hd) {
            err = hd.error();
            return;
          }
          got = true;
          auto w = WalkAttrs(
              attrs, alen, "global stats", [&](const Attr& a) -> Result<void> {
                if (a.type == CTA_STATS_GLOBAL_ENTRIES) {
                  auto v = Be32(a, "CTA_STATS_GLOBAL_ENTRIES");
                  if (!v) return fail(v.error());
                  g.entries = *v;
                } else if (a.type == CTA_STATS_GLOBAL_MAX_ENTRIES) {
                  auto v = Be32(a, "CTA_STATS_GLOBAL_MAX");
                  if (!v) return fail(v.error());
                  g.max_entries = *v;
                }
                return {};
              });
          if (!w) err = w.error();
        });
    if (!r) return fail(r.error());
    if (err) return fail(*err);
    if (!got) return fail(Error::io("ctnetlink: no reply to GET_STATS"));
    return g;
  }

  [[nodiscard]] Result<void> Flush() override {
    return Request(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, AF_UNSPEC,
                   [](const nlmsghdr*) {});
  }

 private:
  static constexpr size_t kBufSize = 1 << 16;

  // Sends one request and runs `on_msg` for every data message of the
  // answer, until NLMSG_DONE (dump) or the ACK.
  template <class OnMsg>
  [[nodiscard]] Result<void> Request(uint8_t msg_type, uint16_t flags,
                                     uint8_t family, OnMsg on_msg) {
    nlmsghdr* h = mnl_nlmsg_put_header(buf_.data());
    h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg_type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    uint32_t seq = ++seq_ + static_cast<uint32_t>(time(nullptr));
    h->nlmsg_seq = seq;
    if (abandoned_dump_) {
      return fail(Error::io(
          "ctnetlink: a stopped dump's remainder is still queued on this "
          "socket; open a new client"));
    }
    auto* g =
        static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(nfgenmsg)));
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = 0;
    if (mnl_socket_sendto(nl_, h, h->nlmsg_len) < 0) {
      return fail(Error::io(
          fmt::format("ctnetlink: send failed: {}", std::strerror(errno))));
    }
    struct Ctx {
      OnMsg* fn;
    } ctx{&on_msg};
    // A callback that returns bool may stop the answer early (false).
    auto cb = [](const nlmsghdr* m, void* data) -> int {
      if constexpr (std::is_same_v<
                        std::invoke_result_t<OnMsg&, const nlmsghdr*>, bool>) {
        return (*static_cast<Ctx*>(data)->fn)(m) ? MNL_CB_OK : MNL_CB_STOP;
      } else {
        (*static_cast<Ctx*>(data)->fn)(m);
        return MNL_CB_OK;
      }
    };
    while (true) {
      ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(Error::io(fmt::format("ctnetlink: receive failed: {}",
                                          std::strerror(errno))));
      }
      int rc = mnl_cb_run(buf_.data(), static_cast<size_t>(n), seq, portid_, cb,
                          &ctx);
      if (rc == MNL_CB_STOP) {
        // Stopped by the callback rather than by the answer's end (DONE,
        // whose callback mnl_cb_run does not call): the rest is queued.
        const auto* last = reinterpret_cast<const nlmsghdr*>(buf_.data());
        int left = static_cast<int>(n);
        bool done = false;
        while (mnl_nlmsg_ok(last, left)) {
          done = done || last->nlmsg_type == NLMSG_DONE;
          last = mnl_nlmsg_next(last, &left);
        }
        if ((flags & NLM_F_DUMP) && !done) abandoned_dump_ = true;
        return {};
      }
      if (rc == MNL_CB_ERROR) {
        if (errno == 0 && (flags & NLM_F_ACK)) return {};
        if (errno == EPERM) {
          // nfnetlink checks CAP_NET_ADMIN in the socket's network
          // namespace for every ctnetlink request.
          return fail(Error::permission(
              "ctnetlink: permission denied (EPERM): reading conntrack over "
              "netlink needs CAP_NET_ADMIN; run as root"));
        }
        return fail(Error::io(fmt::format("ctnetlink: request {} failed: {}",
                                          msg_type, std::strerror(errno))));
      }
      // MNL_CB_OK: a multipart answer continues, a single answer without
      // NLM_F_MULTI is complete unless we asked for an ACK.
      if (!(flags & (NLM_F_DUMP | NLM_F_ACK))) return {};
      if (flags & NLM_F_ACK) {
        // An ACK is an NLMSG_ERROR with error 0: mnl_cb_run returns STOP for
        // it in libmnl >= 1.0.4; older versions return OK, so look.
        const auto* m = reinterpret_cast<const nlmsghdr*>(buf_.data());
        if (m->nlmsg_type == NLMSG_ERROR) return {};
      }
    }
  }

  mnl_socket* nl_;
  uint32_t portid_;
  uint32_t seq_ = 0;
  bool abandoned_dump_ = false;
  std::vector<uint8_t> buf_;
};

}  // namespace

Result<std::unique_ptr<CtnetlinkClient>> CtnetlinkClient::Open() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) {
    return fail(Error::unsupported(
        fmt::format("ctnetlink: cannot open a NETLINK_NETFILTER socket: {} "
                    "(is nfnetlink in the kernel?)",
                    std::strerror(errno))));
  }
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl);
    return fail(
        Error::io(fmt::format("ctnetlink: bind failed: {}", std::strerror(e))));
  }
  auto client = std::make_unique<MnlClient>(nl);
  // Probe: nfnetlink refuses every request without CAP_NET_ADMIN (EPERM),
  // and the request fails when ctnetlink is missing.
  auto probe = client->GetGlobalStats();
  if (!probe && probe.error().code == ErrorCode::kPermission) {
    return fail(probe.error());
  }
  if (!probe) {
    return fail(Error::unsupported(
        fmt::format("{} (needs conntrack with ctnetlink in the kernel)",
                    probe.error().message)));
  }
  return std::unique_ptr<CtnetlinkClient>(std::move(client));
}

}  // namespace ctkit
