// Self-contained HTML documents (see html_page.h).
#include "report/html_page.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "report/svg_chart.h"

namespace ctkit {
namespace {

// The style sheet: readable on a laptop and printed, no web fonts.
constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 1.5em auto; max-width: 60em;
       padding: 0 1em; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
p.lead { font-size: 1.1em; }
p.warning, tr.warning td { color: #8a1c00; }
p.ok { color: #1b5e20; }
dl.facts { display: grid; grid-template-columns: max-content auto;
           gap: 0.2em 1.2em; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #e0e0e0;
         text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         white-space: nowrap; }
span.barcell { white-space: nowrap; }
tr.recommended td { background: #e3f2fd; font-weight: bold; }
tr.adaptive td { font-style: italic; }
span.bar { display: inline-block; height: 0.8em; background: #d55e00;
           margin-right: 0.4em; vertical-align: middle; }
svg { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; font-size: 0.85em;
      white-space: pre-wrap; overflow-wrap: anywhere; }
footer { margin-top: 2em; color: #777; font-size: 0.85em; }
)";

}  // namespace

// HTML5 takes XML's escapes (&apos; included).
std::string HtmlEscape(std::string_view text) { return XmlEscape(text); }

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::Heading(std::string_view text) {
  body_ += fmt::format("<h2>{}</h2>\n", HtmlEscape(text));
}

void HtmlPage::Paragraph(std::string_view text, std::string_view css_class) {
  if (css_class.empty()) {
    body_ += fmt::format("<p>{}</p>\n", HtmlEscape(text));
  } else {
    body_ += fmt::format("<p class=\"{}\">{}</p>\n", HtmlEscape(css_class),
                         HtmlEscape(text));
  }
}

void HtmlPage::Facts(
    const std::vector<std::pair<std::string, std::string>>& facts) {
  body_ += "<dl class=\"facts\">\n";
  for (const auto& [label, value] : facts) {
    body_ += fmt::format("<dt>{}</dt><dd>{}</dd>\n", HtmlEscape(label),
                         HtmlEscape(value));
  }
  body_ += "</dl>\n";
}

void HtmlPage::Table(std::string_view caption,
                     const std::vector<std::string>& header,
                     const std::vector<HtmlRow>& rows) {
  body_ += fmt::format("<table>\n<caption>{}</caption>\n<thead><tr>",
                       HtmlEscape(caption));
  for (const std::string& h : header) {
    body_ += fmt::format("<th scope=\"col\">{}</th>", HtmlEscape(h));
  }
  body_ += "</tr></thead>\n<tbody>\n";
  for (const HtmlRow& row : rows) {
    body_ += row.css_class.empty()
                 ? std::string("<tr>")
                 : fmt::format("<tr class=\"{}\">", HtmlEscape(row.css_class));
    for (const HtmlCell& c : row.cells) {
      body_ += c.numeric ? "<td class=\"num\">" : "<td>";
      body_ += c.html;
      body_ += "</td>";
    }
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
}

void HtmlPage::Preformatted(std::string_view text) {
  body_ += fmt::format("<pre>{}</pre>\n", HtmlEscape(text));
}

void HtmlPage::Raw(std::string_view html) { body_ += html; }

std::string HtmlPage::Finish() const {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<title>{0}</title>\n<style>{1}</style>\n"
      "</head>\n<body>\n<h1>{0}</h1>\n{2}<footer>Written by ctkit. This file "
      "is self-contained: it loads nothing from the network.</footer>\n"
      "</body>\n</html>\n",
      HtmlEscape(title_), kStyle, body_);
}

HtmlCell BarCell(double fraction, std::string_view text) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  return HtmlCell::Markup(
      fmt::format("<span class=\"barcell\"><span class=\"bar\" "
                  "style=\"width:{:.1f}em\"></span>{}</span>",
                  fraction * 12.0, HtmlEscape(text)));
}

[[nodiscard]] Result<void> WriteFileAtomically(const std::string& path,
                                               std::string_view data) {
  auto error = [&](std::string_view what, const std::string& p) {
    return Error{ErrorCode::kIo,
                 fmt::format("cannot write {}: cannot {} {}: {}", path, what, p,
                             std::strerror(errno))};
  };
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) {
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("cannot write {}: not a file name", path)});
  }
  // A new, unpredictable name (mkostemp: O_EXCL, mode 0600): a file or
  // link someone planted beside the report is never written through, and
  // two writers never share a temporary file.
  std::string tmp = dir + "/." + base + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return fail(error("create a temporary file in", dir));
  auto abandon = [&](std::string_view what, const std::string& p) {
    Error e = error(what, p);
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return e;
  };
  if (fchmod(fd, 0644) != 0) return fail(abandon("set the mode of", tmp));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(abandon("write", tmp));
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail(abandon("flush", tmp));
  close(fd);
  fd = -1;
  // The file being replaced, if any, stays as path~: hard-linked under a
  // new temporary name, then renamed over any older path~, so the older
  // backup goes only when the newer one is in place.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      unlink(tmp.c_str());
      return fail(
          Error{ErrorCode::kInvalidArgument,
                fmt::format("cannot write {}: not a regular file", path)});
    }
    const std::string backup = path + "~";
    std::string staged = tmp + "~";
    if (link(path.c_str(), staged.c_str()) != 0) {
      return fail(abandon("keep the old file as", backup));
    }
    if (rename(staged.c_str(), backup.c_str()) != 0) {
      Error e = abandon("keep the old file as", backup);
      unlink(staged.c_str());
      return fail(e);
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = error("rename over it", tmp);
    unlink(tmp.c_str());
    return fail(e);
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return {};
}

}  // namespace ctkit
