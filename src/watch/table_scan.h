// One scan of a namespace's conntrack table for the exporter's attribution
// metrics: which states, sources, destinations and ports hold the table,
// and how long its entries have left, per timeout sysctl.
//
// A scan reads the whole table (a ctnetlink dump, or a fixture's
// `conntrack -L` lines) and folds each entry into a TableSummary
// (report/table_summary.h) as it arrives: its memory is the summary's,
// whatever the table's size. It is time-boxed: past its budget it stops
// reading, and says the counts are partial (conntrack_scan_complete 0)
// rather than keep a table of millions busy. Scans run on their own
// interval (periodic_scan.h), never inside a scrape.
#ifndef CTKIT_WATCH_TABLE_SCAN_H_
#define CTKIT_WATCH_TABLE_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/table_summary.h"
#include "watch/exposition.h"

namespace ctkit {
class CtnetlinkClient;
}

namespace ctkit::watch {

struct ScanLimits {
  double budget_s = 10;  ///< stop reading after this long
  size_t top_k = 10;     ///< series per ranking, plus `other`
  /// Counters per ranking: over-estimates of at most entries / capacity.
  size_t capacity = 1024;
};

struct TableScan {
  TableSummary summary;
  bool complete = false;  ///< every entry was read within the budget
  double seconds = 0;     ///< how long the scan took
  double finished_unix = 0;
  std::string error;  ///< why the scan failed; "" when it did not
};

/// Dumps the table through `client` into a summary. `client` cannot be used
/// again after a scan that ran out of time (see DumpTableWhile).
TableScan ScanTable(CtnetlinkClient& client, const ScanLimits& limits,
                    uint64_t k0, uint64_t k1);

/// The same from `conntrack -L` or /proc/net/nf_conntrack lines (a fixture
/// tree or a collected archive); lines that do not parse are skipped.
TableScan ScanTableText(std::string_view lines, const ScanLimits& limits,
                        uint64_t k0, uint64_t k1);

/// The scan's families under netns=`netns`: entries by state and by flag,
/// the rankings with `other`, the remaining-lifetime histograms, and the
/// scan's own duration, completeness and time. A failed scan gives only
/// the latter.
std::vector<MetricFamily> ScanFamilies(const TableScan& scan,
                                       const std::string& netns);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_TABLE_SCAN_H_
