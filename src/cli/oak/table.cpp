#include "cli/oak/table.h"

#include <algorithm>

namespace oak::cli {

size_t displayWidth(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void Table::addRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& c : cells) {
    if (c.empty()) c.push_back('-');
  }
  rows_.push_back(std::move(cells));
}

std::string Table::render(const std::string& indent) const {
  std::vector<size_t> widths;
  for (const auto& h : headers_) widths.push_back(displayWidth(h));
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], displayWidth(row[i]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text = indent;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text.append(widths[i] - displayWidth(cells[i]) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out.append(text).append("\n");
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string renderFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, displayWidth(label));
  std::string out;
  for (const auto& [label, value] : fields) {
    out.append(label).append(":").append(width - displayWidth(label) + 2, ' ');
    out.append(value.empty() ? std::string("-") : value).append("\n");
  }
  return out;
}

}  // namespace oak::cli
