// HtmlPage: one self-contained HTML document, the form of every `--html`
// report (replay, whatif, plan, doctor).
//
// A report is mailed to a ticket and opened on a jump host with no network,
// so the page carries everything it shows: its style sheet inline, its
// charts as inline SVG (svg_chart.h), no scripts, fonts or images from
// anywhere. Its Content-Security-Policy says so too (default-src 'none'):
// a browser refuses any fetch the page might still attempt, so a report
// that works once works offline.
//
// Text given to the page is escaped; parts given as HTML (Raw, cells from
// HtmlCell::Markup) are the caller's markup.
#ifndef CTKIT_REPORT_HTML_PAGE_H_
#define CTKIT_REPORT_HTML_PAGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "ctkit/result.h"

namespace ctkit {

/// `text` with &, <, >, " and ' escaped (for text and attribute values).
std::string HtmlEscape(std::string_view text);

/// A table cell: text (escaped) or markup, and whether it is a number
/// (right-aligned).
struct HtmlCell {
  std::string html;
  bool numeric = false;
  static HtmlCell Text(std::string_view text) {
    return {HtmlEscape(text), false};
  }
  static HtmlCell Number(std::string_view text) {
    return {HtmlEscape(text), true};
  }
  static HtmlCell Markup(std::string html) { return {std::move(html), false}; }
};

/// A row of a table; `css_class` marks it ("recommended", "warning").
struct HtmlRow {
  std::vector<HtmlCell> cells;
  std::string css_class;
};

class HtmlPage {
 public:
  /// `title`: the browser tab's and the page's heading.
  explicit HtmlPage(std::string title);

  /// A section heading (<h2>).
  void Heading(std::string_view text);
  /// A paragraph of text; `css_class` styles it ("lead", "warning", "ok").
  void Paragraph(std::string_view text, std::string_view css_class = "");
  /// A list of short facts: label and value, as a definition list.
  void Facts(const std::vector<std::pair<std::string, std::string>>& facts);
  /// A table with a header row and a caption saying what it lists.
  void Table(std::string_view caption, const std::vector<std::string>& header,
             const std::vector<HtmlRow>& rows);
  /// Text shown as it is, monospaced (a report's plain-text form).
  void Preformatted(std::string_view text);
  /// Markup the caller made (an <svg> chart).
  void Raw(std::string_view html);

  /// The whole document.
  std::string Finish() const;

 private:
  std::string title_;
  std::string body_;
};

/// A cell holding a horizontal bar of `fraction` (0..1) of the cell's width
/// and the text after it: a bar chart inside a table.
HtmlCell BarCell(double fraction, std::string_view text);

/// Writes `data` to `path` so that a reader sees the old file or the new
/// one, never a part: a new temporary file beside it (an unpredictable
/// name, created exclusively), flushed to disk, renamed over it. An
/// existing file is kept as `path~` (one generation), so writing a report
/// over an older one loses nothing; a `path` that is not a regular file is
/// refused. Errors name the path and the reason.
[[nodiscard]] Result<void> WriteFileAtomically(const std::string& path,
                                               std::string_view data);

}  // namespace ctkit

#endif  // CTKIT_REPORT_HTML_PAGE_H_
