// ctnetlink client tests: pure parser tests on hand-built messages (valid,
// truncated, malformed), and live tests against the real kernel inside a
// throwaway network namespace (root only; skipped with a message otherwise).
#include "kernel/ctnetlink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernel/exec.h"

namespace ctkit {
namespace {

// Builds a conntrack NEW message the way the kernel lays it out.
class MsgBuilder {
 public:
  MsgBuilder(uint8_t family = AF_INET) : buf_(8192) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    auto* g = static_cast<nfgenmsg*>(
        mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
  }
  void Tuple(uint16_t which, uint32_t src, uint32_t dst, uint8_t proto,
             uint16_t sport, uint16_t dport) {
    nlattr* t = mnl_attr_nest_start(nlh_, which);
    nlattr* ip = mnl_attr_nest_start(nlh_, CTA_TUPLE_IP);
    mnl_attr_put_u32(nlh_, CTA_IP_V4_SRC, htonl(src));
    mnl_attr_put_u32(nlh_, CTA_IP_V4_DST, htonl(dst));
    mnl_attr_nest_end(nlh_, ip);
    nlattr* p = mnl_attr_nest_start(nlh_, CTA_TUPLE_PROTO);
    mnl_attr_put_u8(nlh_, CTA_PROTO_NUM, proto);
    mnl_attr_put_u16(nlh_, CTA_PROTO_SRC_PORT, htons(sport));
    mnl_attr_put_u16(nlh_, CTA_PROTO_DST_PORT, htons(dport));
    mnl_attr_nest_end(nlh_, p);
    mnl_attr_nest_end(nlh_, t);
  }
  void U32(uint16_t type, uint32_t v) {
    mnl_attr_put_u32(nlh_, type, htonl(v));
  }
  void TcpState(uint8_t s) {
    nlattr* pi = mnl_attr_nest_start(nlh_, CTA_PROTOINFO);
    nlattr* t = mnl_attr_nest_start(nlh_, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh_, CTA_PROTOINFO_TCP_STATE, s);
    mnl_attr_nest_end(nlh_, t);
    mnl_attr_nest_end(nlh_, pi);
  }
  nlmsghdr* nlh() { return nlh_; }
  uint8_t* data() { return buf_.data(); }
  size_t size() const { return nlh_->nlmsg_len; }

 private:
  std::vector<uint8_t> buf_;
  nlmsghdr* nlh_;
};

MsgBuilder TcpEntry() {
  MsgBuilder b;
  b.Tuple(CTA_TUPLE_ORIG, 0x0a000001, 0x0a000002, IPPROTO_TCP, 40000, 80);
  b.Tuple(CTA_TUPLE_REPLY, 0x0a000002, 0x0a000001, IPPROTO_TCP, 80, 40000);
  b.U32(CTA_STATUS, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
  b.U32(CTA_TIMEOUT, 431999);
  b.U32(CTA_MARK, 7);
  b.U32(CTA_USE, 1);
  b.TcpState(3);
  return b;
}

TEST(ParseCtMessage, TcpEntry) {
  MsgBuilder b = TcpEntry();
  auto f = ParseCtMessage(b.data(), b.size());
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->original.l4_proto, IPPROTO_TCP);
  EXPECT_EQ(f->original.src_port_or_icmp_id, 40000);
  EXPECT_EQ(f->original.dst_port_or_icmp_type_code, 80);
  EXPECT_EQ(f->original.src.bytes[0], 10);
  EXPECT_EQ(f->original.src.bytes[3], 1);
  EXPECT_EQ(f->reply.src.bytes[3], 2);
  EXPECT_EQ(f->timeout_s, 431999u);
  EXPECT_TRUE(f->assured);
  EXPECT_TRUE(f->seen_reply);
  EXPECT_EQ(f->mark, 7u);
  ASSERT_NE(f->state, nullptr);
  EXPECT_STREQ(f->state, "ESTABLISHED");
}

// An SCTP entry: the state comes from CTA_PROTOINFO_SCTP (the tags beside
// it are not shown by conntrack -L); a state past the ABI's range fails.
TEST(ParseCtMessage, SctpEntryHasItsState) {
  for (uint8_t state : {uint8_t{4}, uint8_t{10}}) {
    MsgBuilder b;
    b.Tuple(CTA_TUPLE_ORIG, 0x0a000001, 0x0a000002, IPPROTO_SCTP, 6001, 7000);
    b.Tuple(CTA_TUPLE_REPLY, 0x0a000002, 0x0a000001, IPPROTO_SCTP, 7000, 6001);
    b.U32(CTA_TIMEOUT, 209);
    nlattr* pi = mnl_attr_nest_start(b.nlh(), CTA_PROTOINFO);
    nlattr* sc = mnl_attr_nest_start(b.nlh(), CTA_PROTOINFO_SCTP);
    mnl_attr_put_u8(b.nlh(), CTA_PROTOINFO_SCTP_STATE, state);
    mnl_attr_put_u32(b.nlh(), CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, htonl(7));
    mnl_attr_nest_end(b.nlh(), sc);
    mnl_attr_nest_end(b.nlh(), pi);
    auto f = ParseCtMessage(b.data(), b.size());
    if (state == 10) {
      EXPECT_FALSE(f);
      continue;
    }
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->original.src_port_or_icmp_id, 6001);
    ASSERT_NE(f->state, nullptr);
    EXPECT_STREQ(f->state, "ESTABLISHED");
  }
}

TEST(ParseCtMessage, EveryTruncationFailsCleanly) {
  MsgBuilder b = TcpEntry();
  std::vector<uint8_t> full(b.data(), b.data() + b.size());
  for (size_t len = 0; len < full.size(); ++len) {
    // Shorten both the buffer and the header's claim.
    std::vector<uint8_t> cut(full.begin(),
                             full.begin() + static_cast<long>(len));
    if (len >= 4) {
      uint32_t l = static_cast<uint32_t>(len);
      std::memcpy(cut.data(), &l, 4);
    }
    auto f = ParseCtMessage(cut.data(), cut.size());
    // Cuts that fall on an attribute boundary leave a valid but smaller
    // entry only if both tuples survived; otherwise an error.
    if (f) {
      EXPECT_GT(len, 60u);
    }
  }
}

TEST(ParseCtMessage, MalformedAttributeLengthIsAnError) {
  MsgBuilder b = TcpEntry();
  // The first attribute (CTA_TUPLE_ORIG) claims more than the message.
  auto* a =
      reinterpret_cast<nlattr*>(b.data() + sizeof(nlmsghdr) + sizeof(nfgenmsg));
  a->nla_len = 0xfff0;
  auto f = ParseCtMessage(b.data(), b.size());
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("bad length"), std::string::npos)
      << f.error().message;
  a->nla_len = 2;  // shorter than its own header
  EXPECT_FALSE(ParseCtMessage(b.data(), b.size()));
}

TEST(ParseCtMessage, ShortScalarIsAnError) {
  MsgBuilder b;
  b.Tuple(CTA_TUPLE_ORIG, 1, 2, IPPROTO_UDP, 1, 2);
  b.Tuple(CTA_TUPLE_REPLY, 2, 1, IPPROTO_UDP, 2, 1);
  mnl_attr_put_u16(b.nlh(), CTA_TIMEOUT, 5);  // u32 expected
  auto f = ParseCtMessage(b.data(), b.size());
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("CTA_TIMEOUT"), std::string::npos);
}

TEST(ParseCtMessage, MissingTupleOrBadStateOrFamily) {
  MsgBuilder b;
  b.Tuple(CTA_TUPLE_ORIG, 1, 2, IPPROTO_UDP, 1, 2);
  EXPECT_FALSE(ParseCtMessage(b.data(), b.size()));
  MsgBuilder c = TcpEntry();
  c.TcpState(42);
  EXPECT_FALSE(ParseCtMessage(c.data(), c.size()));
  MsgBuilder d(AF_PACKET);
  d.Tuple(CTA_TUPLE_ORIG, 1, 2, IPPROTO_UDP, 1, 2);
  d.Tuple(CTA_TUPLE_REPLY, 2, 1, IPPROTO_UDP, 2, 1);
  EXPECT_FALSE(ParseCtMessage(d.data(), d.size()));
  EXPECT_FALSE(ParseCtMessage(nullptr, 0));
}

TEST(ParseCpuStatsMessage, CountersAndTruncation) {
  MsgBuilder b;
  b.nlh()->nlmsg_type =
      (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU;
  b.U32(CTA_STATS_FOUND, 1);
  b.U32(CTA_STATS_INVALID, 2);
  b.U32(CTA_STATS_DROP, 3);
  b.U32(CTA_STATS_EARLY_DROP, 4);
  b.U32(CTA_STATS_ERROR, 5);
  b.U32(CTA_STATS_CHAIN_TOOLONG, 6);
  auto s = ParseCpuStatsMessage(b.data(), b.size());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->found, 1u);
  EXPECT_EQ(s->invalid, 2u);
  EXPECT_EQ(s->drop, 3u);
  EXPECT_EQ(s->early_drop, 4u);
  EXPECT_EQ(s->error, 5u);
  EXPECT_EQ(s->chaintoolong, 6u);
  // Cut inside the last attribute: the header's claim no longer fits.
  EXPECT_FALSE(ParseCpuStatsMessage(b.data(), b.size() - 2));
}

// Live: a fresh netns with an nft rule using `ct state` (which turns the
// conntrack hooks on, spec §1.6), real loopback TCP and UDP traffic.
class LiveCtnetlink : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    auto ns = ScopedNewNetns::Create();
    if (!ns) GTEST_SKIP() << ns.error().message;
    ns_ = std::move(*ns);
    auto up = RunCommand({"ip", "link", "set", "lo", "up"});
    ASSERT_TRUE(up) << up.error().message;
    auto nft = RunCommand(
        {"nft", "-f", "-"},
        "table inet t {\n chain o {\n type filter hook output priority 0;\n"
        " ct state new counter\n }\n}\n");
    ASSERT_TRUE(nft) << nft.error().message;
  }
  std::unique_ptr<ScopedNewNetns> ns_;
};

TEST_F(LiveCtnetlink, DumpsLoopbackTcpAndUdpThenFlushes) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(ls, 4), 0);
  socklen_t alen = sizeof a;
  ASSERT_EQ(getsockname(ls, reinterpret_cast<sockaddr*>(&a), &alen), 0);
  uint16_t port = ntohs(a.sin_port);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int acc = accept(ls, nullptr, nullptr);
  ASSERT_GE(acc, 0);
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in ud = a;
  ud.sin_port = htons(9);  // nobody listens: an ICMP error comes back
  ASSERT_GT(sendto(u, "x", 1, 0, reinterpret_cast<sockaddr*>(&ud), sizeof ud),
            0);

  auto client = CtnetlinkClient::Open();
  ASSERT_TRUE(client) << client.error().message;
  std::vector<FlowInfo> flows;
  auto d = (*client)->DumpTable([&](const FlowInfo& f) { flows.push_back(f); });
  ASSERT_TRUE(d) << d.error().message;
  bool tcp = false, udp = false;
  for (const FlowInfo& f : flows) {
    if (f.original.l4_proto == IPPROTO_TCP &&
        f.original.dst_port_or_icmp_type_code == port) {
      tcp = true;
      ASSERT_NE(f.state, nullptr);
      EXPECT_STREQ(f.state, "ESTABLISHED");
      EXPECT_TRUE(f.seen_reply);
      EXPECT_TRUE(f.assured);
      EXPECT_GT(f.timeout_s, 400000u);
      EXPECT_EQ(f.reply.src_port_or_icmp_id, port);
    }
    if (f.original.l4_proto == IPPROTO_UDP &&
        f.original.dst_port_or_icmp_type_code == 9) {
      udp = true;
      EXPECT_FALSE(f.seen_reply);
      EXPECT_LE(f.timeout_s, 30u);
    }
  }
  EXPECT_TRUE(tcp);
  EXPECT_TRUE(udp);

  auto g = (*client)->GetGlobalStats();
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->entries, flows.size());
  EXPECT_GT(g->max_entries, 0u);
  auto s = (*client)->GetStats();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->insert, 0u);  // packet-path confirmations do not count

  ASSERT_TRUE((*client)->Flush());
  size_t after = 0;
  ASSERT_TRUE((*client)->DumpTable([&](const FlowInfo&) { ++after; }));
  EXPECT_EQ(after, 0u);
  for (int fd : {ls, c, acc, u}) close(fd);
}

TEST_F(LiveCtnetlink, AStoppedDumpEndsWhereToldAndRetiresTheClient) {
  // 3000 UDP entries (one per destination port, no one answers): more
  // than one receive buffer of dump messages, so a stop leaves the rest
  // queued on the socket.
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(u, 0);
  for (int port = 20000; port < 23000; ++port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<uint16_t>(port));
    // A refusal from an earlier port's ICMP error may be reported on this
    // send instead: send again.
    ssize_t n = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
      n = sendto(u, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (n > 0) break;
    }
    ASSERT_GT(n, 0) << std::strerror(errno);
  }
  close(u);
  auto client = CtnetlinkClient::Open();
  ASSERT_TRUE(client) << client.error().message;
  size_t seen = 0;
  auto stopped =
      (*client)->DumpTableWhile([&](const FlowInfo&) { return ++seen < 10; });
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_FALSE(*stopped);
  EXPECT_EQ(seen, 10u);
  // The remainder is still queued: this client says so instead of reading
  // it as the next answer.
  auto after = (*client)->GetStats();
  ASSERT_FALSE(after);
  EXPECT_NE(after.error().message.find("open a new client"), std::string::npos);

  auto fresh = CtnetlinkClient::Open();
  ASSERT_TRUE(fresh) << fresh.error().message;
  size_t all = 0;
  auto complete = (*fresh)->DumpTableWhile([&](const FlowInfo&) {
    ++all;
    return true;
  });
  ASSERT_TRUE(complete) << complete.error().message;
  EXPECT_TRUE(*complete);
  EXPECT_GE(all, 3000u);
  auto g = (*fresh)->GetGlobalStats();
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->entries, all);
}

TEST_F(LiveCtnetlink, RepeatedStatsDumpsEndCleanly) {
  // The per-CPU dump is multipart: each request must end at NLMSG_DONE and
  // leave nothing in the socket for the next one.
  auto client = CtnetlinkClient::Open();
  ASSERT_TRUE(client) << client.error().message;
  for (int i = 0; i < 3; ++i) {
    auto s = (*client)->GetStats();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->drop, 0u);
  }
}

}  // namespace
}  // namespace ctkit
