// Formatting for the progress display.
#include <gtest/gtest.h>

#include "src/progress_display.hpp"

namespace spare {
namespace {

TEST(ProgressDisplay, Durations) {
  EXPECT_EQ(launcher::format_duration(0), "0:00");
  EXPECT_EQ(launcher::format_duration(75.4), "1:15");
  EXPECT_EQ(launcher::format_duration(3 * 3600 + 62), "3:01:02");
  EXPECT_EQ(launcher::format_duration(-1), "?");
}

}  // namespace
}  // namespace spare
