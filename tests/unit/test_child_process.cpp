// Splitting a child's output into lines.
#include <gtest/gtest.h>

#include "src/child_process.hpp"

namespace spare {
namespace {

TEST(LineBuffer, SplitsAcrossReads) {
  launcher::LineBuffer buffer;
  EXPECT_TRUE(buffer.feed("par", 3).empty());
  const auto lines = buffer.feed("tial\nnext\nla", 12);
  EXPECT_EQ(lines, (std::vector<std::string>{"partial", "next"}));
  EXPECT_EQ(buffer.rest(), "la");
  EXPECT_EQ(buffer.rest(), "");
}

}  // namespace
}  // namespace spare
