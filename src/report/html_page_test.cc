// The HTML page (html_page.h): text cannot break the markup, the page says
// it loads nothing, and writing a report keeps the one it replaces.
#include "report/html_page.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ctkit {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HtmlPage, TextIsEscapedAndThePageForbidsEveryFetch) {
  HtmlPage page("replay of <a&b>.pcap");
  page.Paragraph("drops > 0 & \"full\"", "warning");
  page.Table(
      "t", {"k<"},
      {{{HtmlCell::Text("10.0.0.1<"), HtmlCell::Number("5")}, "recommended"}});
  const std::string html = page.Finish();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>replay of &lt;a&amp;b&gt;.pcap</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<p class=\"warning\">drops &gt; 0 &amp; "
                      "&quot;full&quot;</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>10.0.0.1&lt;</td><td class=\"num\">5</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"recommended\">"), std::string::npos);
  EXPECT_NE(html.find("content=\"default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(BarCell, TheBarIsTheFractionOfItsWidthClamped) {
  EXPECT_NE(BarCell(0.5, "4").html.find("width:6.0em"), std::string::npos);
  EXPECT_NE(BarCell(7, "x").html.find("width:12.0em"), std::string::npos);
  EXPECT_NE(BarCell(-1, "x").html.find("width:0.0em"), std::string::npos);
}

TEST(WriteFileAtomically, WritesAndKeepsThePreviousFileAsTilde) {
  const std::string path = ::testing::TempDir() + "/html_page_test_" +
                           std::to_string(getpid()) + ".html";
  ASSERT_TRUE(WriteFileAtomically(path, "first").has_value());
  EXPECT_EQ(Slurp(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, "second").has_value());
  EXPECT_EQ(Slurp(path), "second");
  EXPECT_EQ(Slurp(path + "~"), "first");
  // A third write: the second becomes the backup.
  ASSERT_TRUE(WriteFileAtomically(path, "third").has_value());
  EXPECT_EQ(Slurp(path + "~"), "second");
  // No temporary file is left beside it.
  const std::string base = path.substr(path.rfind('/') + 1);
  for (const auto& e :
       std::filesystem::directory_iterator(::testing::TempDir())) {
    EXPECT_NE(e.path().filename().string().rfind("." + base, 0), 0u)
        << e.path();
  }
  unlink(path.c_str());
  unlink((path + "~").c_str());
}

TEST(WriteFileAtomically, AnUnwritablePlaceIsAnErrorNamingThePath) {
  const std::string path = "/nonexistent-dir/report.html";
  auto r = WriteFileAtomically(path, "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("cannot write " + path), std::string::npos)
      << r.error().message;
}

// A link planted at any name beside the report is not written through.
TEST(WriteFileAtomically, APlantedLinkIsNotFollowed) {
  const std::string dir = ::testing::TempDir();
  const std::string victim =
      dir + "/html_page_test_victim_" + std::to_string(getpid());
  const std::string path =
      dir + "/html_page_test_link_" + std::to_string(getpid()) + ".html";
  { std::ofstream(victim) << "keep me"; }
  // The old fixed temporary name, and the report's own name, as links.
  ASSERT_EQ(
      symlink(victim.c_str(), (dir + "/.html_page_test_link_" +
                               std::to_string(getpid()) + ".html.ctkit-tmp")
                                  .c_str()),
      0);
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  EXPECT_FALSE(WriteFileAtomically(path, "x").has_value());  // not regular
  EXPECT_EQ(Slurp(victim), "keep me");
  unlink(path.c_str());
  ASSERT_TRUE(WriteFileAtomically(path, "report").has_value());
  EXPECT_EQ(Slurp(victim), "keep me");
  EXPECT_EQ(Slurp(path), "report");
  unlink(path.c_str());
  unlink((dir + "/.html_page_test_link_" + std::to_string(getpid()) +
          ".html.ctkit-tmp")
             .c_str());
  unlink(victim.c_str());
}

TEST(WriteFileAtomically, ADirectoryIsNotOverwritten) {
  const std::string dir =
      ::testing::TempDir() + "/html_page_test_dir_" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  auto r = WriteFileAtomically(dir, "x");
  EXPECT_FALSE(r.has_value());
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace ctkit
