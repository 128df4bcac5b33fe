// Launcher pieces that need no MPI: line splitting, events, the mpirun
// command line, durations and XDMF text.
#include <gtest/gtest.h>
#include <unistd.h>

#include "src/local_backend.hpp"
#include "spare/events.hpp"
#include "spare/result_file.hpp"
#include "src/child_process.hpp"
#include "src/progress_display.hpp"

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

TEST(Events, OnlyPrefixedJsonObjectsAreEvents) {
  EXPECT_FALSE(parse_event_line("hello"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT not json"));
  EXPECT_FALSE(parse_event_line("SPARE-EVENT {\"no\": 1}"));
  const auto event = parse_event_line("SPARE-EVENT {\"event\": \"done\", \"step\": 5}");
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["step"], 5);
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

TEST(LocalBackend, OversubscribesOnlyBeyondTheCores) {
  ::setenv("SPARE_WORKER", "/opt/spare-worker", 1);
  const auto fits = launcher::mpirun_command({2, 2, "/out/job.ini"});
  EXPECT_EQ(std::count(fits.begin(), fits.end(), "--oversubscribe"), 0);
  EXPECT_EQ(fits.back(), "/out/job.ini");
  EXPECT_NE(std::find(fits.begin(), fits.end(), "/opt/spare-worker"), fits.end());
  const auto over = launcher::mpirun_command({4, 2, "/out/job.ini"});
  EXPECT_EQ(std::count(over.begin(), over.end(), "--oversubscribe"), 1);
  const auto env = launcher::mpirun_environment();
  EXPECT_EQ(env.count("OMPI_ALLOW_RUN_AS_ROOT"), ::geteuid() == 0 ? 1u : 0u);
  ::unsetenv("SPARE_WORKER");
}

TEST(ProgressDisplay, Durations) {
  EXPECT_EQ(launcher::format_duration(0), "0:00");
  EXPECT_EQ(launcher::format_duration(75.4), "1:15");
  EXPECT_EQ(launcher::format_duration(3 * 3600 + 62), "3:01:02");
  EXPECT_EQ(launcher::format_duration(-1), "?");
}

TEST(ResultFile, XdmfDescribesGridAndData) {
  Manifest m;
  m.run.kernel = "heat2d";
  m.run.time = 0.5;
  m.datasets = {{"temperature", DType::f64, {{3, 4}, {0, 1}, {0.5, 0.25}, {"y", "x"}}, "", ""},
                {"counts", DType::i64, {{3, 4}, {0, 1}, {0.5, 0.25}, {"y", "x"}}, "", ""}};
  const std::string xml = xdmf_document(m, "result.h5");
  for (const char* part :
       {"TopologyType=\"2DCoRectMesh\" Dimensions=\"3 4\"", "GeometryType=\"ORIGIN_DXDY\"",
        ">0 1</DataItem>", ">0.5 0.25</DataItem>", "result.h5:/temperature",
        "NumberType=\"Int\" Precision=\"8\"", "result.h5:/counts", "<Time Value=\"0.5\"/>"}) {
    EXPECT_NE(xml.find(part), std::string::npos) << part << "\n" << xml;
  }
  // Both datasets share one grid.
  EXPECT_EQ(xml.find("<Grid", xml.find("<Grid") + 1), std::string::npos);
}

}  // namespace
}  // namespace spare
