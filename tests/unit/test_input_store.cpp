// A volunteer's input cache: trimmed to its size, least recently used first,
// never an input in use nor a file still being fetched.
#include "input_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include "request_error.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

namespace fs = std::filesystem;

std::string address(char digit) {
  return std::string(64, digit);
}

/// An input of `bytes` bytes last used `minutes_ago` minutes ago.
void cache(const fs::path& root, const std::string& name, std::size_t bytes, int minutes_ago) {
  std::ofstream(root / name) << std::string(bytes, 'x');
  fs::last_write_time(root / name,
                      fs::file_time_type::clock::now() - std::chrono::minutes(minutes_ago));
}

TEST(InputStore, TrimsLeastRecentlyUsedFirstAndSparesInputsInUse) {
  const testing::TempDir dir;
  const InputStore store(dir.path());
  cache(dir.path(), address('a'), 400, 50);  // oldest, but a group uses it
  cache(dir.path(), address('b'), 300, 40);
  cache(dir.path(), address('c'), 200, 30);
  cache(dir.path(), address('d'), 100, 20);
  cache(dir.path(), "." + address('e') + ".group-3", 5000, 60);  // being fetched
  store.touch(address('b'));  // used again just now: the last to go
  // 1000 bytes cached; at most 700 may stay: c goes, then d (b was used last).
  EXPECT_EQ(store.trim(700, {address('a')}),
            (std::vector<std::string>{address('c'), address('d')}));
  EXPECT_TRUE(store.has(address('a')));
  EXPECT_TRUE(store.has(address('b')));
  EXPECT_FALSE(store.has(address('c')));
  EXPECT_FALSE(store.has(address('d')));
  EXPECT_TRUE(fs::exists(dir / ("." + address('e') + ".group-3")));
  // Within the limit nothing goes; inputs in use stay even beyond it.
  EXPECT_TRUE(store.trim(700, {}).empty());
  EXPECT_EQ(store.trim(0, {address('a')}), std::vector<std::string>{address('b')});
  EXPECT_TRUE(store.has(address('a')));
}

TEST(InputStore, RefusesNamesThatAreNotContentAddresses) {
  const testing::TempDir dir;
  const InputStore store(dir.path());
  EXPECT_THROW(store.touch("../escape"), RequestError);
  EXPECT_THROW(store.path("ABC"), RequestError);
}

}  // namespace
}  // namespace spare::pool
