// backends.ini: each type's keys, and errors that name file:line, section and key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "backends/backends_file.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"

namespace spare::launcher {
namespace {

namespace fs = std::filesystem;

class BackendsFile : public ::testing::Test {
 protected:
  fs::path write(const std::string& text) {
    const fs::path file = dir_.path() / "backends.ini";
    std::ofstream(file) << text;
    return file;
  }
  std::vector<BackendSection> load(const std::string& text) {
    return load_backends({write(text), true});
  }
  /// The message of the UsageError that loading `text` throws.
  std::string refusal(const std::string& text) {
    try {
      load(text);
    } catch (const UsageError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return {};
  }
  spare::testing::TempDir dir_;
};

TEST_F(BackendsFile, ReadsEachTypeWithItsKeys) {
  const auto backends = load(
      "# where I run\n"
      "[laptop]\ntype = local\n\n"
      "[lab]\ntype = pool\nurl = https://pool.lab:7350\ntoken_file = lab.token\n"
      "fingerprint = sha256:ab\n"
      "[cluster]\ntype = slurm\npartition = debug   # the short queue\naccount = physics\n"
      "time = 02:00:00\nworkdir = ~/scratch\nntasks = 4\n");
  ASSERT_EQ(backends.size(), 3u);
  EXPECT_EQ(backends[0].name(), "laptop");
  EXPECT_EQ(backends[0].type(), BackendType::local);
  EXPECT_EQ(backends[1].type(), BackendType::pool);
  EXPECT_EQ(backends[1].required("url"), "https://pool.lab:7350");
  // A relative path starts from the file's directory; "~/" is the home directory.
  EXPECT_EQ(*backends[1].path("token_file"), dir_.path() / "lab.token");
  EXPECT_EQ(backends[2].type(), BackendType::slurm);
  EXPECT_EQ(backends[2].required("partition"), "debug");
  EXPECT_EQ(*backends[2].path("workdir"), fs::path(std::getenv("HOME")) / "scratch");
  EXPECT_EQ(backends[2].integer("ntasks", 1, 1, 100), 4);
  EXPECT_EQ(backends[2].integer("signal_lead", 120, 1, 86400), 120);
  EXPECT_FALSE(backends[2].optional("qos"));
}

TEST_F(BackendsFile, EachMistakeNamesTheLineSectionAndKey) {
  const std::string file = (dir_.path() / "backends.ini").string();
  EXPECT_EQ(refusal("[a]\nurl = x\n"),
            file + ":1: [a]: no type: expected type = local | pool | slurm");
  EXPECT_EQ(refusal("[a]\ntype = cloud\n"),
            file + ":2: [a] type: expected local | pool | slurm, found 'cloud'");
  EXPECT_EQ(refusal("[c]\ntype = slurm\nworkdir = /s\n"),
            file + ":1: [c]: a slurm backend needs partition (it takes: partition, workdir)");
  EXPECT_NE(refusal("[c]\ntype = slurm\npartiton = debug\n")
                .find(file + ":3: [c] unknown key 'partiton' for a slurm backend; it takes: "
                             "partition, workdir, account"),
            std::string::npos);
  EXPECT_EQ(refusal("[l]\ntype = local\n[l]\ntype = local\n"),
            file + ":3: [l] again (first at line 1): one section a backend");
  EXPECT_EQ(refusal("type = local\n"),
            file +
                ":1: 'type = local' comes before any [NAME]: each key belongs to a backend's "
                "section");
  EXPECT_EQ(refusal("[l]\ntype local\n"),
            file + ":2: expected KEY = VALUE or [NAME], found 'type local'");
  EXPECT_EQ(
      refusal("[a b]\n"),
      file + ":1: expected a section [NAME] of letters, digits, '-', '_' or '.', found '[a b]'");
  EXPECT_EQ(refusal("[l]\ntype = local\ntype = pool\n"),
            file + ":3: [l] type again (first at line 2)");
  EXPECT_EQ(refusal("[p]\ntype = pool\nurl =\n"), file + ":3: [p] url: no value");
  EXPECT_EQ(refusal(""),
            file + ": no backend in it: expected sections such as [laptop] with type = local");
  const auto cluster = load("[c]\ntype = slurm\npartition = p\nworkdir = /w\nntasks = 0\n");
  try {
    cluster[0].integer("ntasks", 1, 1, 65536);
    ADD_FAILURE() << "ntasks = 0 accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              file + ":5: [c] ntasks: expected a whole number from 1 to 65536, found '0'");
  }
}

TEST_F(BackendsFile, WithoutAFileThereIsThisMachine) {
  const auto backends = load_backends({dir_.path() / "absent.ini", false});
  ASSERT_EQ(backends.size(), 1u);
  EXPECT_EQ(backends[0].name(), "local");
  EXPECT_EQ(backends[0].type(), BackendType::local);
  // A file the scientist named must be there.
  EXPECT_THROW(load_backends({dir_.path() / "absent.ini", true}), UsageError);
}

TEST_F(BackendsFile, AnUnknownBackendIsNamedWithTheOnesThereAre) {
  const auto backends = load("[laptop]\ntype = local\n[cluster]\ntype = local\n");
  try {
    find_backend(backends, "nowhere", "b.ini");
    ADD_FAILURE() << "found nowhere";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown backend 'nowhere': b.ini names laptop, cluster");
  }
}

}  // namespace
}  // namespace spare::launcher
