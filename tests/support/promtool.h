#pragma once
// What the daemons export, for tests: Prometheus' own checker (`promtool check metrics` parses
// the text format and lints names, types and help texts), and the value of one series.

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace oak::testing {

// Success when promtool parses `exposition` without a complaint; otherwise what it said. Fails
// (never skips) when promtool is not installed (`make deps` installs it).
::testing::AssertionResult promtoolAccepts(const std::string& exposition);

// The value of the series written exactly as `series` (name and labels, as rendered), if any.
std::optional<double> seriesValue(const std::string& exposition, const std::string& series);

}  // namespace oak::testing
