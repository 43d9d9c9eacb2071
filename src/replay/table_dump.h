// The table as `conntrack -L` prints it, written to a stream.
//
// A replay's --dump of millions of entries is output-bound: each line is
// formatted in place into one buffer (report/format.h's AppendConntrackLine)
// that is written whenever it passes 1 MiB, so a dump keeps no line and
// makes no string per line, and its memory does not grow with the table.
#ifndef CTKIT_REPLAY_TABLE_DUMP_H_
#define CTKIT_REPLAY_TABLE_DUMP_H_

#include <cstdint>
#include <cstdio>

#include "ctkit/engine.h"

namespace ctkit {

/// Writes every live entry of `engine` at now_ns as a `conntrack -L` line
/// (in table order, reaping expired entries as a kernel dump does) to `out`.
/// Returns the lines written.
uint64_t WriteTableDump(Engine& engine, uint64_t now_ns, std::FILE* out);

}  // namespace ctkit

#endif  // CTKIT_REPLAY_TABLE_DUMP_H_
