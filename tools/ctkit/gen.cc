// `ctkit gen KIND -o FILE.pcap`: writes a synthetic workload (see
// src/gen/workloads.h) to a raw-IP pcap, for tests, demos and benchmarks.
//
// The subcommand only maps flags onto a WorkloadSpec, checks it before the
// output file is touched (so a typo never truncates an existing capture),
// and streams the packets straight into the PcapWriter: nothing is held in
// memory, so captures of millions of packets cost no more RAM than small
// ones. A failed write stops the output, removes the partial file and
// reports one `ctkit: error:` line with exit status 1.
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "gen/pcap_writer.h"
#include "gen/workloads.h"
#include "tools/ctkit/command.h"

namespace ctkit::cli {
namespace {

struct GenOptions {
  std::string kind;
  std::string output;
  uint64_t flows = WorkloadSpec{}.flows;
  double rate = WorkloadSpec{}.rate;
  uint64_t packets = 0;
  uint64_t seed = WorkloadSpec{}.seed;
  std::string start;  // empty: kDefaultWorkloadStartNs
  bool ipv6 = false;
};

int RunGen(const GenOptions& opts) {
  WorkloadSpec spec;
  spec.kind = opts.kind;
  spec.flows = opts.flows;
  spec.rate = opts.rate;
  spec.packets = opts.packets;
  spec.seed = opts.seed;
  spec.ipv6 = opts.ipv6;
  if (!opts.start.empty()) {
    Result<uint64_t> start = ParseStartTime(opts.start);
    if (!start) return Fail(start.error());
    spec.start_ns = *start;
  }
  if (Result<void> ok = ValidateWorkload(spec); !ok) {
    return Fail(ok.error());
  }

  Result<std::unique_ptr<PcapWriter>> writer = PcapWriter::Create(opts.output);
  if (!writer) return Fail(writer.error());
  PcapWriter& out = **writer;

  // The sink cannot return an error; keep the first one and skip the rest.
  std::optional<Error> write_error;
  const auto began = std::chrono::steady_clock::now();
  Result<WorkloadStats> stats = GenerateWorkload(
      spec, [&](uint64_t ts_ns, std::span<const uint8_t> packet) {
        if (write_error) return;
        if (Result<void> w = out.Write(ts_ns, packet); !w) {
          write_error = w.error();
        }
      });
  Result<void> closed = out.Close();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
          .count();
  if (!write_error && !closed) write_error = closed.error();
  if (!stats) write_error = stats.error();
  if (write_error) {
    std::remove(opts.output.c_str());
    return Fail(*write_error);
  }

  const double span_s =
      static_cast<double>(stats->last_ts_ns - stats->first_ts_ns) / 1e9;
  std::fprintf(stderr,
               "wrote %llu packets (%llu flows, %.3f s of traffic) to %s "
               "in %.2f s\n",
               static_cast<unsigned long long>(stats->packets),
               static_cast<unsigned long long>(stats->flows), span_s,
               opts.output.c_str(), elapsed);
  return kExitOk;
}

}  // namespace

void RegisterGen(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<GenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gen", "Write a synthetic, seeded workload to a raw-IP pcap file");
  std::string kinds = "Workload kind:";
  for (const WorkloadKindInfo& k : WorkloadKinds()) {
    kinds += "\n  " + std::string(k.name) + ": " + std::string(k.summary);
  }
  cmd->add_option("kind", opts->kind, kinds)->required();
  cmd->add_option("-o,--output", opts->output, "Pcap file to write")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--flows", opts->flows,
                  "Number of flows (for mixed: in total)")
      ->capture_default_str();
  cmd->add_option("--rate", opts->rate,
                  "New flows per second (Poisson arrivals)")
      ->capture_default_str();
  cmd->add_option("--packets", opts->packets,
                  "udp-roundrobin only: total packets (default 10 x flows)");
  cmd->add_option("--seed", opts->seed, "PRNG seed; same seed, same bytes")
      ->capture_default_str();
  cmd->add_option("--start", opts->start,
                  "First timestamp, SECONDS[.FRACTION] since the epoch "
                  "(default 1700000000)");
  cmd->add_flag("--ipv6", opts->ipv6, "Generate IPv6 (2001:db8::/32)");
  cmd->callback([opts, exit_code] { *exit_code = RunGen(*opts); });
}

}  // namespace ctkit::cli
