// The follower reads records as /dev/kmsg gives them (here through a FIFO)
// and counts the table-full lines per namespace and the suppressed ones.
#include "watch/kmsg_follower.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace ctkit::watch {
namespace {

// Waits (up to 5 s) until `done` holds for the follower's counts.
template <typename Pred>
bool WaitFor(const KmsgFollower& f, Pred done) {
  for (int i = 0; i < 500; ++i) {
    if (done(f.counts())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(KmsgFollower, CountsTableFullLinesByNamespaceAndSuppressedOnes) {
  const std::string fifo =
      ::testing::TempDir() + "/ctkit_kmsg_" + std::to_string(getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  KmsgFollower f(fifo, /*from_start=*/true);
  ASSERT_TRUE(f.ok()) << f.error();
  const int w = open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  // /dev/kmsg records as 6.18 writes them: the initial namespace's line
  // names none; another namespace's names its inode.
  const std::string log =
      "4,1001,5000000,-;nf_conntrack: nf_conntrack: table full, dropping "
      "packet\n"
      "4,1002,5000100,-;nf_conntrack: nf_conntrack: table full in netns "
      "4026532318, dropping packet\n"
      "4,1003,5000200,-;nf_conntrack: nf_conntrack: table full in netns "
      "4026532318, dropping packet\n"
      "4,1004,9000000,-;net_ratelimit: 1234 callbacks suppressed\n"
      "6,1005,9000100,-;eth0: link up\n";
  // Written in two pieces, the first ending mid-record.
  ASSERT_EQ(write(w, log.data(), 70), 70);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(write(w, log.data() + 70, log.size() - 70),
            static_cast<ssize_t>(log.size() - 70));
  close(w);
  EXPECT_TRUE(WaitFor(f, [](const KmsgFollower::Counts& c) {
    return c.ratelimit_suppressed == 1234;
  }));
  const KmsgFollower::Counts c = f.counts();
  EXPECT_EQ(c.table_full_by_netns.at(0), 1u);
  EXPECT_EQ(c.table_full_by_netns.at(4026532318u), 2u);
  EXPECT_EQ(c.table_full_by_netns.size(), 2u);
  unlink(fifo.c_str());
}

TEST(KmsgFollower, AnUnreadableLogIsReportedNotFatal) {
  KmsgFollower f("/nonexistent/kmsg", false);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(f.error().find("cannot open /nonexistent/kmsg"), std::string::npos);
  EXPECT_TRUE(f.counts().table_full_by_netns.empty());
}

}  // namespace
}  // namespace ctkit::watch
