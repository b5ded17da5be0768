#pragma once
// Output for people: tables with aligned columns, and "Label: value" blocks.

#include <string>
#include <utility>
#include <vector>

namespace oak::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // Missing cells are empty; extra cells are dropped.
  void addRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell (counted in characters, not bytes), two spaces apart,
  // each line prefixed by `indent`; an empty cell shows as "-"; no trailing blanks.
  std::string render(const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "Label:  value" lines, the values aligned.
std::string renderFields(const std::vector<std::pair<std::string, std::string>>& fields);

// Characters of UTF-8 text (continuation bytes not counted).
size_t displayWidth(const std::string& text);

}  // namespace oak::cli
