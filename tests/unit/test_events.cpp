// Event lines between a worker and its launcher.
#include <gtest/gtest.h>

#include <cstdio>

#include "spare/events.hpp"

namespace spare {
namespace {

TEST(Events, OnlyPrefixedJsonObjectsAreEvents) {
  EXPECT_FALSE(parse_event_line("hello"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT not json"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"no\": 1}"));
  const auto event = parse_event_line("SPARE-EVENT {\"event\": \"done\", \"step\": 5}");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["step"], 5);
}

// Found by tests/fuzz/fuzz_pool_messages (tests/fuzz/findings/fuzz_pool_messages/
// event-kind-not-a-string): the coordinator reads the kind with value("event", ""),
// which threw for any other type and lost the rest of the head's batch.
TEST(Events, AnEventsKindIsAString) {
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"event\": 1}"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"event\": null}"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"event\": [\"progress\"]}"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"event\": {\"kind\": \"progress\"}}"));
  const auto event = parse_event_line("SPARE-EVENT {\"event\": \"\", \"step\": 1}");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["event"], "");
}

TEST(EventSink, WritesOneParsableLine) {
  std::FILE* file = std::tmpfile();
  EventSink(true, file).warning("disk is \"full\"");
  EventSink(false, file).warning("never written");
  std::rewind(file);
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof line, file), nullptr);
  std::string text(line);
  text.pop_back();
  const auto event = parse_event_line(text);
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["message"], "disk is \"full\"");
  EXPECT_EQ(std::fgets(line, sizeof line, file), nullptr);
  std::fclose(file);
}

}  // namespace
}  // namespace spare
