// ZoneMap: which conntrack zone each packet of a replay is in.
//
// On a host, zones come from rules (`nft ... ct zone set N`) that a
// capture does not record, so the user states them, one rule per
// --zone-map, in the order nft would try them; the first that matches a
// packet gives its zone, and a packet no rule matches is in the default
// zone 0:
//
//   net:PREFIX=ZONE   the packet's source or destination is in PREFIX
//                     (10.1.0.0/16, 2001:db8::/32, or one address), so
//                     both directions of a flow get the zone;
//   vlan:ID=ZONE      the frame's outermost 802.1Q/802.1ad tag is ID
//                     (Ethernet captures);
//   if:N=ZONE         the packet was captured on pcapng interface N
//                     (numbered from 0 in file order, as Wireshark's
//                     frame.interface_id; a classic pcap has interface 0);
//   if:NAME=ZONE      ... on the pcapng interface named NAME (its if_name,
//                     as dumpcap and tshark record it: eth1, vlan20...);
//
// and ZONE may end in /original or /reply for a zone that applies to that
// direction only (`ct original zone set`, `ct reply zone set`).
// kernel-replay turns net: rules into the same nft rules in its router;
// the others match what its router cannot see (tags, capture interfaces).
#ifndef CTKIT_REPLAY_ZONE_MAP_H_
#define CTKIT_REPLAY_ZONE_MAP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/capture.h"
#include "ctkit/packet.h"
#include "ctkit/result.h"

namespace ctkit {

class ZoneMap {
 public:
  struct Rule {
    enum class Kind : uint8_t { kNet, kVlan, kInterface };
    Kind kind = Kind::kNet;
    Family family = Family::kIPv4;  ///< kNet
    Address prefix{};               ///< kNet, host bits zero
    uint8_t prefix_len = 0;         ///< kNet
    uint16_t vlan = 0;              ///< kVlan
    uint32_t interface_id = 0;      ///< kInterface, when by number
    std::string interface_name;     ///< kInterface, when by name
    Zone zone{};
    std::string text;  ///< as the user wrote it
  };

  /// Parses one --zone-map rule and appends it. Errors quote the rule and
  /// say which part is wrong.
  [[nodiscard]] Result<void> Add(std::string_view rule);

  bool empty() const noexcept { return rules_.empty(); }
  const std::vector<Rule>& rules() const noexcept { return rules_; }

  /// The zones the rules can give, the default first: a replay counts
  /// packets and entries per zone in a slot of this list (bounded by the
  /// rules, however many packets).
  const std::vector<Zone>& zones() const noexcept { return zones_; }

  /// The slot in zones() of a decoded packet's zone; `rec` is its capture
  /// record (the frame for VLAN rules, the interface for if: rules). No
  /// allocation.
  uint32_t SlotFor(const CaptureRecord& rec,
                   const PacketView& pkt) const noexcept;
  /// The rules as nft rule lines for a prerouting chain at priority -300
  /// (before conntrack), which give a router's packets the zones this map
  /// gives a replay's. Fails for VLAN and interface rules: kernel-replay
  /// injects IP packets, with no tags, through interfaces of its own.
  [[nodiscard]] Result<std::vector<std::string>> NftRules() const;

  /// The slot of `zone`, or zones().size() if no rule gives it.
  uint32_t SlotOf(const Zone& zone) const noexcept;

 private:
  std::vector<Rule> rules_;
  std::vector<uint32_t> rule_slot_;     // rules_[i]'s slot in zones_
  std::vector<Zone> zones_ = {Zone{}};  // distinct, default first
};

/// The outermost VLAN id of an Ethernet frame, or -1 if it has no tag.
int OuterVlanId(uint32_t link_type, const uint8_t* frame,
                uint32_t caplen) noexcept;

}  // namespace ctkit

#endif  // CTKIT_REPLAY_ZONE_MAP_H_
