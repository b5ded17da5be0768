#include "cli/oak/progress.h"

#include <algorithm>

#include "cli/oak/table.h"

namespace oak::cli {

std::string ProgressView::line(const ProgressRow& row, size_t label_width,
                               size_t status_width) const {
  // Cells padded to the column's width, two spaces apart.
  auto pad = [](size_t width, const std::string& cell) {
    size_t w = displayWidth(cell);
    return std::string(width > w ? width - w : 0, ' ') + "  ";
  };
  std::string text = row.label;
  if (!row.status.empty()) text += pad(label_width, row.label) + row.status;
  if (!row.note.empty()) text += pad(status_width, row.status) + row.note;
  if (width_ > 1 && displayWidth(text) > width_ - 1) {
    // Cut at a character boundary.
    size_t chars = 0, at = 0;
    for (; at < text.size() && chars < width_ - 1; ++at) {
      if ((static_cast<unsigned char>(text[at]) & 0xC0) != 0x80) ++chars;
    }
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
    text.resize(at);
  }
  return text;
}

void ProgressView::update(const std::vector<ProgressRow>& rows, const std::string& footer) {
  if (!terminal_) {
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i < shown_.size() && shown_[i] == rows[i]) continue;
      out_ << line(rows[i], 0, 0) << "\n";
    }
    shown_ = rows;
    out_.flush();
    return;
  }
  if (rows == shown_ && footer == footer_) return;
  size_t label_width = 0, status_width = 0;
  for (const auto& r : rows) {
    label_width = std::max(label_width, displayWidth(r.label));
    status_width = std::max(status_width, displayWidth(r.status));
  }
  std::vector<std::string> lines;
  for (const auto& r : rows) lines.push_back(line(r, label_width, status_width));
  if (!footer.empty()) lines.push_back(line({footer, "", ""}, 0, 0));
  // Back to the first line of the block, then every line rewritten and cleared to its end;
  // lines the block no longer needs are cleared and the cursor returns below the block.
  if (drawn_ > 0) out_ << "\x1b[" << drawn_ << "A";
  for (const auto& l : lines) out_ << "\r" << l << "\x1b[K\n";
  for (size_t i = lines.size(); i < drawn_; ++i) out_ << "\r\x1b[K\n";
  if (lines.size() < drawn_) out_ << "\x1b[" << drawn_ - lines.size() << "A";
  drawn_ = lines.size();
  shown_ = rows;
  footer_ = footer;
  out_.flush();
}

}  // namespace oak::cli
