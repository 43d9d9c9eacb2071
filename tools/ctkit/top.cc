// `ctkit top`: a live terminal view of every namespace's conntrack table
// for a host dropping packets now, usable over ssh (ncurses), or one plain
// frame with --once for scripts and tickets. What it shows is the watch
// layer's (watch/top_model.h, watch/top_frame.h); this file parses flags,
// runs the refresh loop and draws.
//
// It must not make an incident worse: each refresh reads only the O(1)
// counters; the table walks run on their own, longer interval, on one
// thread, in bounded memory (watch/periodic_scan.h), with a time budget;
// it listens for events (new/s, destroyed/s) only with --events, since
// that adds memory to every entry made meanwhile (watch/event_counter.h).
#include <curses.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "tools/ctkit/command.h"
#include "tools/ctkit/history_flags.h"
#include "watch/history_recorder.h"
#include "watch/namespace_counters.h"
#include "watch/periodic_scan.h"
#include "watch/top_frame.h"
#include "watch/top_model.h"

namespace ctkit::cli {
namespace {

struct TopFlags {
  double interval_s = 2;
  double scan_interval_s = 10;
  double scan_budget_s = 5;
  bool once = false;
  bool this_netns = false;
  bool events = false;
  std::string root;
  size_t top_n = 5;
  HistoryFlags history;
};

std::atomic<bool> g_quit{false};
void OnQuitSignal(int) { g_quit.store(true, std::memory_order_relaxed); }

double Monotonic() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Clock() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Sleeps `seconds` in small steps, so that a signal ends it soon.
void Nap(double seconds) {
  const double until = Monotonic() + seconds;
  while (!g_quit.load(std::memory_order_relaxed) && Monotonic() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int RunOnce(const TopFlags& f, watch::TopModel* model,
            watch::PeriodicScan* scan, watch::HistoryRecorder* history) {
  // Two readings an interval apart: rates need both.
  model->Refresh(Monotonic());
  if (scan != nullptr) scan->RunOnce();
  for (double left = f.interval_s; left > 0; left -= 0.1) {
    Nap(std::min(left, 0.1));
    model->DrainEvents();
  }
  model->Refresh(Monotonic());
  if (scan != nullptr) model->SetScans(scan->LastScans(), UnixNow());
  if (history != nullptr) history->RecordNow();
  watch::TopFrameOptions o;
  o.width = 200;
  o.keys = false;
  o.events = f.events;
  o.scans = scan != nullptr;
  o.clock = Clock();
  o.interval_s = f.interval_s;
  o.top_n = f.top_n;
  for (const std::string& line : watch::RenderTopFrame(model->rows(), o).lines)
    fmt::print("{}\n", line);
  return model->rows().empty() ? kExitFailure : kExitOk;
}

int RunScreen(const TopFlags& f, watch::TopModel* model,
              watch::PeriodicScan* scan, watch::HistoryRecorder* history) {
  if (isatty(STDIN_FILENO) == 0 || isatty(STDOUT_FILENO) == 0) {
    PrintError("top needs a terminal; use --once for one plain-text frame");
    return kExitFailure;
  }
  // newterm, not initscr: initscr exits the process on a terminal it
  // cannot drive, which would skip every destructor (the recorder, the
  // scan thread) and the signal handlers' restoration.
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (screen == nullptr) {
    PrintError(
        "cannot start the terminal view (is TERM set to a terminal "
        "this host knows?)");
    return kExitFailure;
  }
  // The terminal is given back on every way out, an exception included.
  struct Restore {
    explicit Restore(SCREEN* s) : screen(s) {}
    Restore(const Restore&) = delete;
    Restore& operator=(const Restore&) = delete;
    ~Restore() {
      endwin();
      delscreen(screen);
    }
    SCREEN* screen;
  } restore(screen);
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  timeout(100);  // getch waits at most 0.1 s
  if (scan != nullptr) scan->Start();
  if (history != nullptr) history->Start();
  watch::TopFrameOptions o;
  o.interval_s = f.interval_s;
  o.top_n = f.top_n;
  o.events = f.events;
  o.scans = scan != nullptr;
  std::vector<std::string> order;
  double next = 0;
  bool dirty = true;
  while (!g_quit.load(std::memory_order_relaxed)) {
    const double now = Monotonic();
    if (!o.paused && now >= next) {
      model->Refresh(now);
      if (scan != nullptr) model->SetScans(scan->LastScans(), UnixNow());
      o.clock = Clock();
      next = now + f.interval_s;
      dirty = true;
    }
    if (dirty) {
      o.width = static_cast<size_t>(COLS);
      o.height = static_cast<size_t>(LINES);
      const watch::TopFrame frame = watch::RenderTopFrame(model->rows(), o);
      order = frame.order;
      // No pick yet, or the picked namespace is gone: the first one.
      if (!order.empty() &&
          std::find(order.begin(), order.end(), o.picked) == order.end()) {
        o.picked = order.front();
      }
      erase();
      for (size_t i = 0; i < frame.lines.size(); ++i) {
        if (static_cast<int>(i) == frame.picked_line) attron(A_REVERSE);
        if (i == 0 || i == 1) attron(A_BOLD);
        mvaddnstr(static_cast<int>(i), 0, frame.lines[i].c_str(), COLS);
        attroff(A_REVERSE | A_BOLD);
      }
      refresh();
      dirty = false;
    }
    model->DrainEvents();
    const int key = getch();
    if (key == ERR) continue;
    dirty = true;
    auto at = std::find(order.begin(), order.end(), o.picked);
    switch (key) {
      case 'q':
      case 'Q':
        g_quit.store(true);
        break;
      case ' ':
      case 'p':
        o.paused = !o.paused;
        break;
      case 's':
        o.sort = watch::NextTopSort(o.sort);
        break;
      case KEY_DOWN:
      case 'j':
        if (at != order.end() && at + 1 != order.end()) o.picked = *(at + 1);
        break;
      case KEY_UP:
      case 'k':
        if (at != order.end() && at != order.begin()) o.picked = *(at - 1);
        break;
      default:
        break;  // KEY_RESIZE and others: redraw
    }
  }
  return kExitOk;
}

int RunTop(const TopFlags& f) {
  if (f.interval_s <= 0 || f.scan_interval_s < 0) {
    return UsageError(
        "--interval must be above 0 and --scan-interval 0 or "
        "above");
  }
  HistoryFlags history_flags = f.history;
  if (Result<void> h = ParseHistoryFlags(&history_flags); !h) {
    return UsageError(h.error().message);
  }
  const bool all = !f.this_netns && f.root.empty();
  watch::TopModel model({f.root, all, 300, f.events});
  watch::ScanLimits limits;
  limits.budget_s = f.scan_budget_s;
  limits.top_k = f.top_n;
  std::unique_ptr<watch::PeriodicScan> scan;
  if (f.scan_interval_s > 0) {
    scan = std::make_unique<watch::PeriodicScan>(
        f.scan_interval_s, limits,
        [root = f.root, all] { return watch::ScanTargetsFor(root, all); });
  }
  // The flight recorder, as the exporter keeps it (its own thread and
  // interval; a namespace's sample carries the last scan's top lists).
  std::unique_ptr<watch::HistoryRecorder> history;
  if (!history_flags.file.empty()) {
    auto writer = OpenHistoryFile(history_flags);
    if (!writer) return Fail(writer.error());
    history = std::make_unique<watch::HistoryRecorder>(
        std::move(*writer), history_flags.interval_s,
        [root = f.root, all, s = scan.get()] {
          return watch::SampleNamespaces(root, all, s);
        });
  }
  struct sigaction sa {};
  sa.sa_handler = OnQuitSignal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  const int rc = f.once ? RunOnce(f, &model, scan.get(), history.get())
                        : RunScreen(f, &model, scan.get(), history.get());
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return rc;
}

}  // namespace

void RegisterTop(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TopFlags>();
  CLI::App* cmd = app.add_subcommand(
      "top",
      "a live view of every namespace's conntrack table: the count against "
      "the limit, growth, drops and early drops per second, the forecast to "
      "full, and what holds the table");
  DocumentExitStatus(
      cmd, {{kExitOk,
             "the view ended (q, SIGINT or SIGTERM), or --once "
             "printed its frame"},
            {kExitFailure,
             "no namespace's counters could be read, there is no terminal "
             "for the view (use --once), or the --history file cannot be "
             "used"},
            {kExitUsage, "the command line was wrong", true}});
  cmd->add_option("--interval", f->interval_s,
                  "seconds between screen refreshes (each reads only the "
                  "O(1) counters)")
      ->default_val(2);
  cmd->add_option("--scan-interval", f->scan_interval_s,
                  "seconds between walks of each table for its states and "
                  "top sources, destinations and ports (0: no walks)")
      ->default_val(10);
  cmd->add_option("--scan-budget", f->scan_budget_s,
                  "a table walk stops after this many seconds")
      ->default_val(5);
  cmd->add_option("--top", f->top_n, "sources, destinations, ports shown")
      ->default_val(5);
  cmd->add_flag("--once", f->once,
                "print one plain-text frame (after one --interval, for the "
                "rates) and exit");
  cmd->add_flag("--events", f->events,
                "also show entries made and destroyed per second, counted "
                "from conntrack's NEW events. The kernel counts neither, and "
                "listening has a cost: every entry made while top listens "
                "carries the event extension (at least 128 bytes more when "
                "it has no other) and the kernel sends a message for each");
  cmd->add_flag("--this-netns", f->this_netns,
                "only the namespace top runs in (default: every namespace "
                "of the host)");
  cmd->add_option("--root", f->root,
                  "read a fixture tree or an extracted `doctor --collect` "
                  "archive instead of the host");
  AddHistoryOptions(cmd, &f->history);
  cmd->callback([f, exit_code] { *exit_code = RunTop(*f); });
}

}  // namespace ctkit::cli
