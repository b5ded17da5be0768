#include "promtool.h"

#include <charconv>
#include <fstream>

#include "process.h"
#include "temp_dir.h"

namespace oak::testing {

::testing::AssertionResult promtoolAccepts(const std::string& exposition) {
  std::string promtool = findOnPath("promtool");
  if (promtool.empty()) {
    return ::testing::AssertionFailure() << "promtool is not installed (make deps)";
  }
  TempDir dir;
  std::string file = dir.file("metrics.txt");
  std::ofstream(file) << exposition;
  // promtool reads the exposition from its standard input.
  auto r = runCommand({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file},
                      std::chrono::seconds(30));
  if (r.exit_code == 0 && r.output.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "promtool check metrics (exit " << r.exit_code << "):\n"
                                       << r.output;
}

std::optional<double> seriesValue(const std::string& exposition, const std::string& series) {
  std::string needle = series + " ";
  for (size_t at = exposition.find(needle); at != std::string::npos;
       at = exposition.find(needle, at + 1)) {
    if (at != 0 && exposition[at - 1] != '\n') continue;
    size_t start = at + needle.size();
    size_t end = exposition.find('\n', start);
    if (end == std::string::npos) end = exposition.size();
    double v = 0;
    auto [ptr, ec] = std::from_chars(exposition.data() + start, exposition.data() + end, v);
    if (ec == std::errc()) return v;
  }
  return std::nullopt;
}

}  // namespace oak::testing
