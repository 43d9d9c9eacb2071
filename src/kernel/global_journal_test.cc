// GlobalJournal in a temporary directory, with ordinary files standing in
// for the sysctls (no root needed): a journal left by a process that is gone
// is written back and removed; one whose owner lives is left alone and
// blocks a second owner; bad journals are errors naming the file and line.
#include "kernel/global_journal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ctkit {
namespace {

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/global_journal_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/state";
    sys_ = root_ + "/sys/";
    std::filesystem::create_directory(sys_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  GlobalJournal J() const { return GlobalJournal(dir_, sys_); }
  std::string Sysctl(const std::string& name, const std::string& value) {
    std::ofstream(sys_ + name) << value << "\n";
    return sys_ + name;
  }
  std::string Value(const std::string& path) {
    std::ifstream in(path);
    std::string v;
    in >> v;
    return v;
  }
  void WriteJournal(const std::string& text) {
    std::filesystem::create_directory(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    std::ofstream(J().path()) << text;
  }
  bool JournalExists() { return std::filesystem::exists(J().path()); }

  std::string root_, dir_, sys_;
};

// A pid that certainly belongs to no running process: a child that has
// exited and been reaped.
pid_t DeadPid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST_F(Journal, NothingToRestoreWithoutAJournal) {
  GlobalJournal j = J();
  auto r = j.RecoverStale();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "");
  EXPECT_FALSE(JournalExists());
}

TEST_F(Journal, RecordedByThisProcessIsItsOwnUntilRemoved) {
  std::string max = Sysctl("nf_conntrack_max", "1039");
  GlobalJournal j = J();
  ASSERT_TRUE(j.Record({{max, "262144"}}));
  auto c = j.Read();
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->pid, getpid());
  EXPECT_TRUE((*c)->owner_alive);
  ASSERT_EQ((*c)->values.size(), 1u);
  EXPECT_EQ((*c)->values[0].second, "262144");
  // A live owner's journal is not touched.
  GlobalJournal::Contents held;
  auto r = j.RecoverStale(&held);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");
  EXPECT_EQ(held.pid, getpid());
  EXPECT_EQ(Value(max), "1039");
  ASSERT_TRUE(j.Remove());
  EXPECT_FALSE(JournalExists());
}

TEST_F(Journal, AJournalWhoseOwnerIsGoneIsWrittenBackAndRemoved) {
  std::string max = Sysctl("nf_conntrack_max", "1039");
  std::string buckets = Sysctl("nf_conntrack_buckets", "8192");
  pid_t dead = DeadPid();
  WriteJournal("# a comment\npid " + std::to_string(dead) +
               "\nstart 4242\nrestore " + max + " 262144\nrestore " + buckets +
               " 65536\n");
  GlobalJournal j = J();
  auto r = j.RecoverStale();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Value(max), "262144");
  EXPECT_EQ(Value(buckets), "65536");
  EXPECT_FALSE(JournalExists());
  EXPECT_NE(r->find("pid " + std::to_string(dead)), std::string::npos) << *r;
  EXPECT_NE(r->find("(was 1039)"), std::string::npos) << *r;
  // Done once: nothing left for the next run.
  auto again = j.RecoverStale();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, "");
}

TEST_F(Journal, AReusedPidIsNotTheOwner) {
  // Our own pid, but another start time: the owner was an earlier process
  // with the same pid.
  std::string max = Sysctl("nf_conntrack_max", "1039");
  unsigned long long start = GlobalJournal::StartTime(getpid());
  ASSERT_NE(start, 0u);
  WriteJournal("pid " + std::to_string(getpid()) + "\nstart " +
               std::to_string(start + 1) + "\nrestore " + max + " 7\n");
  GlobalJournal j = J();
  auto r = j.RecoverStale();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Value(max), "7");
  EXPECT_FALSE(JournalExists());
}

TEST_F(Journal, ALiveOwnerKeepsItsJournalAndBlocksASecondOne) {
  std::string max = Sysctl("nf_conntrack_max", "1039");
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  unsigned long long start = 0;
  for (int i = 0; i < 100 && start == 0; ++i) {
    start = GlobalJournal::StartTime(child);
  }
  WriteJournal("pid " + std::to_string(child) + "\nstart " +
               std::to_string(start) + "\nrestore " + max + " 262144\n");
  GlobalJournal j = J();
  GlobalJournal::Contents held;
  auto r = j.RecoverStale(&held);
  auto rec = j.Record({{max, "5"}});
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "");
  EXPECT_EQ(held.pid, child);
  EXPECT_EQ(Value(max), "1039");
  ASSERT_FALSE(rec);
  EXPECT_NE(rec.error().message.find("pid " + std::to_string(child)),
            std::string::npos)
      << rec.error().message;
  // Once the owner is gone, its values come back.
  auto after = j.RecoverStale();
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(Value(max), "262144");
}

TEST_F(Journal, MalformedJournalsAreErrorsNamingTheLine) {
  GlobalJournal j = J();
  WriteJournal("pid 1\nstart 2\nrestore /etc/passwd 0\n");
  auto outside = j.RecoverStale();
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find(j.path() + ":3:"), std::string::npos)
      << outside.error().message;
  WriteJournal("pid 1\nstart 2\nrestore " + sys_ + "x lots\n");
  auto value = j.RecoverStale();
  ASSERT_FALSE(value);
  EXPECT_NE(value.error().message.find("not a number"), std::string::npos);
  WriteJournal("restore " + sys_ + "x 1\n");
  auto owner = j.RecoverStale();
  ASSERT_FALSE(owner);
  EXPECT_NE(owner.error().message.find("no pid"), std::string::npos);
  EXPECT_TRUE(JournalExists());
}

TEST_F(Journal, AValueThatCannotBeWrittenBackKeepsTheJournal) {
  WriteJournal("pid " + std::to_string(DeadPid()) + "\nstart 1\nrestore " +
               sys_ + "missing/nf_conntrack_max 262144\n");
  GlobalJournal j = J();
  auto r = j.RecoverStale();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("kept"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(JournalExists());
}

TEST_F(Journal, ADirectoryOthersCanWriteIsRefused) {
  std::filesystem::create_directory(dir_);
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  GlobalJournal j = J();
  auto r = j.Record({{Sysctl("nf_conntrack_max", "1"), "2"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("refusing"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace ctkit
