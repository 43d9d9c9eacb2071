// ZoneMap: parsing the rules and matching packets against them.
#include "replay/zone_map.h"

#include <arpa/inet.h>

#include <charconv>

namespace ctkit {
namespace {

constexpr uint32_t kLinkTypeEthernet = 1;

[[nodiscard]] Result<uint32_t> Number(std::string_view text, uint32_t max,
                                      std::string_view rule,
                                      std::string_view what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      v > max) {
    return fail(Error::invalid_argument(
        "--zone-map " + std::string(rule) + ": " + std::string(what) + " '" +
        std::string(text) + "' is not a number from 0 to " +
        std::to_string(max)));
  }
  return v;
}

bool InPrefix(const Address& a, const ZoneMap::Rule& r) {
  const int full = r.prefix_len / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[i] != r.prefix.bytes[i]) return false;
  }
  const int rest = r.prefix_len % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return (a.bytes[full] & mask) == r.prefix.bytes[full];
}

}  // namespace

Result<void> ZoneMap::Add(std::string_view rule) {
  auto bad = [&](const std::string& why) {
    return fail(Error::invalid_argument("--zone-map " + std::string(rule) +
                                        ": " + why));
  };
  const size_t colon = rule.find(':');
  const size_t eq = rule.rfind('=');
  if (colon == std::string_view::npos || eq == std::string_view::npos ||
      eq < colon) {
    return bad("expected net:PREFIX=ZONE, vlan:ID=ZONE or if:INTERFACE=ZONE");
  }
  const std::string_view kind = rule.substr(0, colon);
  const std::string_view what = rule.substr(colon + 1, eq - colon - 1);
  std::string_view zone = rule.substr(eq + 1);
  Rule r;
  r.text = std::string(rule);
  if (const size_t slash = zone.find('/'); slash != std::string_view::npos) {
    const std::string_view dir = zone.substr(slash + 1);
    if (dir == "original") {
      r.zone.dir_mask = Zone::kOriginalOnly;
    } else if (dir == "reply") {
      r.zone.dir_mask = Zone::kReplyOnly;
    } else {
      return bad("direction '" + std::string(dir) +
                 "' is neither original nor reply");
    }
    zone = zone.substr(0, slash);
  }
  auto id = Number(zone, 65535, rule, "zone");
  if (!id) return fail(id.error());
  r.zone.id = static_cast<uint16_t>(*id);
  if (kind == "vlan") {
    auto v = Number(what, 4095, rule, "VLAN id");
    if (!v) return fail(v.error());
    r.kind = Rule::Kind::kVlan;
    r.vlan = static_cast<uint16_t>(*v);
  } else if (kind == "net") {
    r.kind = Rule::Kind::kNet;
    std::string addr(what);
    std::string_view len_text;
    if (const size_t slash = addr.find('/'); slash != std::string::npos) {
      len_text = what.substr(slash + 1);
      addr.resize(slash);
    }
    if (inet_pton(AF_INET, addr.c_str(), r.prefix.bytes) == 1) {
      r.family = Family::kIPv4;
    } else if (inet_pton(AF_INET6, addr.c_str(), r.prefix.bytes) == 1) {
      r.family = Family::kIPv6;
    } else {
      return bad("'" + addr + "' is not an IPv4 or IPv6 address");
    }
    const uint32_t max_len = r.family == Family::kIPv4 ? 32 : 128;
    uint32_t len = max_len;
    if (!len_text.empty() || what.find('/') != std::string_view::npos) {
      auto l = Number(len_text, max_len, rule, "prefix length");
      if (!l) return fail(l.error());
      len = *l;
    }
    r.prefix_len = static_cast<uint8_t>(len);
    Address masked{};
    for (uint32_t i = 0; i < len / 8; ++i) masked.bytes[i] = r.prefix.bytes[i];
    if (len % 8 != 0) {
      masked.bytes[len / 8] = static_cast<uint8_t>(r.prefix.bytes[len / 8] &
                                                   (0xff00u >> (len % 8)));
    }
    if (!(masked == r.prefix)) {
      return bad("'" + std::string(what) +
                 "' has host bits set (nft would refuse it too)");
    }
  } else if (kind == "if") {
    r.kind = Rule::Kind::kInterface;
    if (what.empty()) return bad("no interface number or name");
    if (what.find_first_not_of("0123456789") == std::string_view::npos) {
      auto n = Number(what, kUnknownInterface - 1, rule, "interface number");
      if (!n) return fail(n.error());
      r.interface_id = *n;
    } else {
      r.interface_name = std::string(what);
    }
  } else {
    return bad("'" + std::string(kind) +
               "' is not a rule kind (net, vlan or if)");
  }
  rule_slot_.push_back(SlotOf(r.zone));
  if (rule_slot_.back() == zones_.size()) zones_.push_back(r.zone);
  rules_.push_back(std::move(r));
  return {};
}

Result<std::vector<std::string>> ZoneMap::NftRules() const {
  std::vector<std::string> lines;
  for (const Rule& r : rules_) {
    if (r.kind != Rule::Kind::kNet) {
      return fail(Error::invalid_argument(
          "--zone-map " + r.text + ": the kernel's router sees " +
          (r.kind == Rule::Kind::kVlan
               ? "IP packets without their VLAN tags"
               : "packets on its own interfaces, not the capture's") +
          "; only net: rules can be reproduced there"));
    }
    char text[64];
    inet_ntop(r.family == Family::kIPv4 ? AF_INET : AF_INET6, r.prefix.bytes,
              text, sizeof text);
    const std::string prefix =
        std::string(text) + "/" + std::to_string(r.prefix_len);
    const char* ip = r.family == Family::kIPv4 ? "ip" : "ip6";
    const char* which = r.zone.dir_mask == Zone::kOriginalOnly ? "original "
                        : r.zone.dir_mask == Zone::kReplyOnly  ? "reply "
                                                               : "";
    // First match wins, as in ZoneFor: accept ends this chain (conntrack's
    // own hook still runs).
    for (const char* side : {"saddr", "daddr"}) {
      lines.push_back(std::string(ip) + " " + side + " " + prefix + " ct " +
                      which + "zone set " + std::to_string(r.zone.id) +
                      " accept");
    }
  }
  return lines;
}

int OuterVlanId(uint32_t link_type, const uint8_t* frame,
                uint32_t caplen) noexcept {
  if (link_type != kLinkTypeEthernet || caplen < 16) return -1;
  const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  if (type != 0x8100 && type != 0x88a8) return -1;
  return (frame[14] & 0x0f) << 8 | frame[15];
}

uint32_t ZoneMap::SlotOf(const Zone& zone) const noexcept {
  for (uint32_t i = 0; i < zones_.size(); ++i) {
    if (zones_[i].id == zone.id && zones_[i].dir_mask == zone.dir_mask) {
      return i;
    }
    if (zone.id == 0 && zones_[i].id == 0) return i;
  }
  return static_cast<uint32_t>(zones_.size());
}

uint32_t ZoneMap::SlotFor(const CaptureRecord& rec,
                          const PacketView& pkt) const noexcept {
  int vlan = -2;  // not read yet
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& r = rules_[i];
    if (r.kind == Rule::Kind::kVlan) {
      if (vlan == -2) vlan = OuterVlanId(rec.link_type, rec.data, rec.caplen);
      if (vlan == r.vlan) return rule_slot_[i];
    } else if (r.kind == Rule::Kind::kInterface) {
      if (r.interface_name.empty() ? rec.interface_id == r.interface_id
                                   : rec.interface_name == r.interface_name) {
        return rule_slot_[i];
      }
    } else if (r.family == pkt.family &&
               (InPrefix(pkt.src, r) || InPrefix(pkt.dst, r))) {
      return rule_slot_[i];
    }
  }
  return 0;
}

}  // namespace ctkit
