#pragma once
// The progress of instances on their way to RUNNING. On a terminal the block of rows is redrawn
// in place, one line per instance; elsewhere (logs, pipes, CI) a plain line is printed whenever a
// row changes, so the output reads as a history.

#include <ostream>
#include <string>
#include <vector>

namespace oak::cli {

struct ProgressRow {
  std::string label;   // "app.ns.service.ns/0"
  std::string status;  // RUNNING, NODE_SCHEDULED, ...
  std::string note;    // where it runs, or why it waits
  bool operator==(const ProgressRow&) const = default;
};

class ProgressView {
 public:
  // `width`: the terminal's columns (lines are cut to fit, so that redrawing stays in place);
  // 0 when unknown.
  ProgressView(std::ostream& out, bool terminal, size_t width = 0)
      : out_(out), terminal_(terminal), width_(width) {}
  // `footer` (terminals only) is a last line under the rows, e.g. the time waited so far.
  void update(const std::vector<ProgressRow>& rows, const std::string& footer = "");

 private:
  std::string line(const ProgressRow& row, size_t label_width, size_t status_width) const;

  std::ostream& out_;
  bool terminal_;
  size_t width_;
  std::vector<ProgressRow> shown_;
  std::string footer_;
  size_t drawn_ = 0;  // lines of the block on the terminal
};

}  // namespace oak::cli
