// Atomic replacement, tested with a real concurrent writer: a reader never
// sees a mix of two versions or a partial file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "spare/atomic_file.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

TEST(AtomicFile, ReadersSeeOneWholeVersion) {
  const testing::TempDir dir;
  const auto path = dir / "MANIFEST.json";
  const std::string a(1 << 20, 'a'), b(1 << 19, 'b');
  write_file_atomically(path, a);
  const pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    for (int i = 0;; ++i)
      write_file_atomically(path, i % 2 ? a : b);
  }
  int reads_of_a = 0, reads_of_b = 0;
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(path);
    const std::string seen{std::istreambuf_iterator<char>(in), {}};
    if (seen == a) {
      ++reads_of_a;
    } else if (seen == b) {
      ++reads_of_b;
    } else {
      ADD_FAILURE() << "read " << seen.size() << " bytes that are neither version";
      break;
    }
  }
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  EXPECT_EQ(reads_of_a + reads_of_b, 300);
}

TEST(AtomicFile, ReplacesAndLeavesNoTemporary) {
  const testing::TempDir dir;
  write_file_atomically(dir / "f", "one");
  write_file_atomically(dir / "f", "two");
  std::ifstream in(dir / "f");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "two");
  EXPECT_FALSE(std::filesystem::exists(dir / "f.tmp"));
  EXPECT_THROW(write_file_atomically(dir / "missing" / "f", "x"), std::exception);
}

TEST(AtomicFile, SecretsHaveTheirModeFromTheStartWhateverWasLeftBehind) {
  const testing::TempDir dir;
  // A crash left a world-readable temporary; the umask would allow 0644 too.
  std::ofstream(dir / "key.tmp") << "stale";
  std::filesystem::permissions(dir / "key.tmp", std::filesystem::perms::all);
  write_file_atomically(dir / "key", "secret", 0600);
  struct stat info {};
  ASSERT_EQ(::stat((dir / "key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream in(dir / "key");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "secret");
  write_file_atomically(dir / "public", "x");
  ASSERT_EQ(::stat((dir / "public").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

}  // namespace
}  // namespace spare
