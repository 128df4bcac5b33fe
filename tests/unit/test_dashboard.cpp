// The dashboard's pieces without a browser: the PNG encoder (checksums on
// known vectors, and a file parsed back chunk by chunk to its pixels), the
// picture of a real HDF5 checkpoint, and each job's progress history. The
// pages themselves are tested in a real browser (tests/cluster/test_dashboard.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <thread>

#include <fmt/format.h>

#include "checkpoint_preview.hpp"
#include "https_client.hpp"
#include "https_server.hpp"
#include "png_writer.hpp"
#include "pool_state_machine.hpp"
#include "preview_cache.hpp"
#include "progress_history.hpp"
#include "spare/digest.hpp"
#include "spare/error.hpp"
#include "support/laptop_record.hpp"
#include "support/one_shard_checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

std::uint32_t be32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = value << 8 | static_cast<std::uint8_t>(bytes[at + i]);
  return value;
}

struct DecodedPng {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0;
  std::string raw;  // the filtered rows, from the stored deflate blocks
  std::vector<std::string> chunks;
};

/// Parses what encode_png writes, checking every CRC and the Adler-32.
DecodedPng decode(const std::string& png) {
  DecodedPng out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string zlib;
  for (std::size_t at = 8; at < png.size();) {
    const std::uint32_t length = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    EXPECT_EQ(be32(png, at + 8 + length), crc32(type + data)) << type;
    out.chunks.push_back(type);
    if (type == "IHDR") {
      out.width = be32(data, 0);
      out.height = be32(data, 4);
      out.bit_depth = static_cast<std::uint8_t>(data[8]);
      out.colour_type = static_cast<std::uint8_t>(data[9]);
    } else if (type == "IDAT") {
      zlib += data;
    }
    at += 12 + length;
  }
  EXPECT_EQ((static_cast<std::uint8_t>(zlib[0]) * 256 + static_cast<std::uint8_t>(zlib[1])) % 31,
            0);
  for (std::size_t at = 2;;) {
    const int header = static_cast<std::uint8_t>(zlib[at]);
    EXPECT_EQ(header & 6, 0) << "a stored block";
    const std::size_t len = static_cast<std::uint8_t>(zlib[at + 1]) |
                            static_cast<std::size_t>(static_cast<std::uint8_t>(zlib[at + 2])) << 8;
    const std::size_t nlen = static_cast<std::uint8_t>(zlib[at + 3]) |
                             static_cast<std::size_t>(static_cast<std::uint8_t>(zlib[at + 4])) << 8;
    EXPECT_EQ(len ^ nlen, 0xFFFFu);
    out.raw += zlib.substr(at + 5, len);
    at += 5 + len;
    if (header & 1) {
      EXPECT_EQ(be32(zlib, at), adler32(out.raw));
      EXPECT_EQ(at + 4, zlib.size());
      break;
    }
  }
  return out;
}

TEST(PngWriter, ChecksumsMatchKnownValues) {
  EXPECT_EQ(crc32("IEND"), 0xAE426082u);  // every PNG ends with these bytes
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(adler32("Wikipedia"), 0x11E60398u);
  EXPECT_EQ(adler32(""), 1u);
}

TEST(PngWriter, WritesRowsThatParseBackToThePixels) {
  // 300 x 100 RGB: 90,100 bytes of rows, more than one stored block holds.
  const int width = 300, height = 100;
  std::vector<std::uint8_t> rgb;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      rgb.push_back(static_cast<std::uint8_t>(x));
      rgb.push_back(static_cast<std::uint8_t>(y));
      rgb.push_back(static_cast<std::uint8_t>(x ^ y));
    }
  }
  const DecodedPng png = decode(encode_png(width, height, rgb));
  EXPECT_EQ(png.chunks, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  EXPECT_EQ(png.width, 300u);
  EXPECT_EQ(png.height, 100u);
  EXPECT_EQ(png.bit_depth, 8);
  EXPECT_EQ(png.colour_type, 2);
  ASSERT_EQ(png.raw.size(), static_cast<std::size_t>(height) * (1 + width * 3));
  for (int y = 0; y < height; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * (1 + width * 3);
    EXPECT_EQ(png.raw[row], '\0');
    EXPECT_EQ(png.raw.compare(
                  row + 1, width * 3,
                  std::string(rgb.begin() + y * width * 3, rgb.begin() + (y + 1) * width * 3)),
              0);
  }
  EXPECT_THROW(encode_png(2, 2, std::vector<std::uint8_t>(11)), Error);
  EXPECT_THROW(encode_png(0, 2, {}), Error);
}

TEST(CheckpointPreview, PaintsTheFieldOfARealCheckpointDownsampled) {
  const testing::TempDir dir;
  // A 40 x 600 field rising from left to right: the picture is 256 wide,
  // 17 high, dark blue at the left and red at the right.
  const Index ny = 40, nx = 600;
  std::vector<double> values;
  for (Index y = 0; y < ny; ++y) {
    for (Index x = 0; x < nx; ++x)
      values.push_back(static_cast<double>(x) / (nx - 1));
  }
  spare::testing::one_shard_checkpoint(dir.path(), {ny, nx}, &values,
                                       digest_bytes(values.data(), values.size() * 8));
  const std::optional<CheckpointPreview> preview = render_checkpoint_preview(dir.path());
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->dataset, "u");
  EXPECT_EQ(preview->width, 256);
  EXPECT_EQ(preview->height, 17);
  EXPECT_NEAR(preview->min, 0.0, 0.01);
  EXPECT_NEAR(preview->max, 1.0, 0.01);
  const DecodedPng png = decode(preview->png);
  EXPECT_EQ(png.width, 256u);
  EXPECT_EQ(png.height, 17u);
  const auto pixel = [&](int y, int x) {
    const std::size_t at = static_cast<std::size_t>(y) * (1 + 256 * 3) + 1 + x * 3;
    return std::vector<int>{static_cast<std::uint8_t>(png.raw[at]),
                            static_cast<std::uint8_t>(png.raw[at + 1]),
                            static_cast<std::uint8_t>(png.raw[at + 2])};
  };
  EXPECT_EQ(pixel(0, 0), (std::vector<int>{20, 30, 110}));
  EXPECT_EQ(pixel(16, 255), (std::vector<int>{210, 40, 30}));
  EXPECT_EQ(pixel(3, 128), pixel(12, 128));  // every row alike
}

TEST(CheckpointPreview, CheckpointsWithoutA2DFieldHaveNone) {
  const testing::TempDir dir;
  const std::vector<double> values(1000, 2.0);
  spare::testing::one_shard_checkpoint(dir.path(), {1000}, &values,
                                       digest_bytes(values.data(), values.size() * 8));
  EXPECT_FALSE(render_checkpoint_preview(dir.path()));
}

TEST(PreviewCache, RendersOncePerCheckpoint) {
  PreviewCache cache;
  int renders = 0;
  const auto render = [&]() -> std::optional<std::string> {
    ++renders;
    return "png of render " + std::to_string(renders);
  };
  EXPECT_EQ(*cache.get(1, 300, render), "png of render 1");
  EXPECT_EQ(*cache.get(1, 300, render), "png of render 1");
  EXPECT_EQ(*cache.get(1, 600, render), "png of render 2");  // a newer checkpoint
  EXPECT_EQ(*cache.get(2, 600, render), "png of render 3");  // another job
  EXPECT_EQ(renders, 3);
  EXPECT_EQ(*cache.get(3, 1, [] { return std::optional<std::string>(); }), "");
  EXPECT_THROW(
      cache.get(4, 1,
                []() -> std::optional<std::string> { throw Error(ExitCode::checkpoint, "x"); }),
      Error);
  EXPECT_EQ(*cache.get(4, 1, render), "png of render 4");  // a failure is not remembered
}

TEST(ProgressHistory, KeepsChangesAndThinsAWholeRunEvenly) {
  ProgressHistory history;
  history.record(7, 100.0, 0);
  history.record(7, 100.5, 0);  // the same step: not again
  history.record(7, 101.0, 10);
  EXPECT_EQ(history.samples(7), (std::vector<ProgressHistory::Sample>{{100.0, 0}, {101.0, 10}}));
  EXPECT_TRUE(history.samples(8).empty());
  for (std::int64_t step = 11; step < 2000; ++step)
    history.record(7, 100.0 + static_cast<double>(step), step);
  const auto samples = history.samples(7);
  EXPECT_LE(samples.size(), ProgressHistory::kMaxSamples);
  EXPECT_GE(samples.size(), ProgressHistory::kMaxSamples / 2);
  EXPECT_EQ(samples.front().second, 0);    // the start stays
  EXPECT_EQ(samples.back().second, 1999);  // and the latest
  for (std::size_t i = 1; i < samples.size(); ++i)
    EXPECT_LT(samples[i - 1].second, samples[i].second);
  history.forget(7);
  EXPECT_TRUE(history.samples(7).empty());
}

TEST(CheckpointPlaces, SayWhichShardsThePoolAndEachVolunteerHold) {
  // Two laptops run a job on a fake clock; nothing is committed anywhere.
  double now = 1000;
  PoolStateMachine machine(PoolSettings{}, PoolSnapshot{}, now);
  std::int64_t lap1 = 0, lap2 = 0, job = 0;
  machine.register_volunteer(testing::laptop_record("lap1"), "", now, lap1);
  machine.register_volunteer(testing::laptop_record("lap2"), "", now, lap2);
  JobRecord heat;
  heat.name = "heat";
  heat.kernel = "heat2d";
  heat.steps = 1000;
  heat.state_bytes = 1 << 20;
  machine.submit(heat, {0, 1 << 20, false}, 1 << 20, now, job);
  machine.tick(now += 0.5);
  EXPECT_TRUE(machine.checkpoint_places(job).empty());
  // Step 300: the pool has both shards; step 600: only the manifest and one.
  const std::vector<std::string> shards = {"shard-00000.h5", "shard-00001.h5"};
  machine.checkpoint_arrived({job, 300, true, shards, {"MANIFEST.json", shards[0], shards[1]}, {}},
                             now);
  machine.checkpoint_arrived({job, 600, false, shards, {"MANIFEST.json", shards[0]}, {}}, now);
  Heartbeat beat;
  beat.holds[job][300] = {shards[0]};
  beat.holds[job][600] = {shards[0], "shard-00009.h5"};  // a file the manifest does not list
  HeartbeatAnswer answer;
  machine.heartbeat(lap1, beat, now, answer);
  beat.holds[job] = {{600, {shards[1]}}};
  machine.heartbeat(lap2, beat, now, answer);

  const std::vector<CheckpointPlaces> places = machine.checkpoint_places(job);
  ASSERT_EQ(places.size(), 2u);
  EXPECT_EQ(places[0].step, 300);
  EXPECT_EQ(places[0].shards, shards);
  EXPECT_EQ(places[0].in_pool, (std::set<std::string>{shards[0], shards[1]}));
  EXPECT_EQ(places[0].on_volunteers,
            (std::map<std::string, std::set<std::string>>{{"lap1", {shards[0]}}}));
  EXPECT_EQ(places[1].step, 600);
  EXPECT_EQ(places[1].in_pool, (std::set<std::string>{shards[0]}));
  EXPECT_EQ(places[1].on_volunteers, (std::map<std::string, std::set<std::string>>{
                                         {"lap1", {shards[0]}}, {"lap2", {shards[1]}}}));
  EXPECT_TRUE(machine.checkpoint_places(job + 1).empty());
}

TEST(TokenFreePages, OnlyThePagesAreServedWithoutAToken) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir / "tls", "127.0.0.1");
  int authorizer_asked = 0;
  HttpsServer server(
      identity,
      [&](const ServerRequest& request) {
        ++authorizer_asked;
        if (request.bearer_token != "good") throw RequestError(401, "the token was refused");
      },
      [](const std::string&) {}, dir / "spool");
  server.route_without_token("/page.js", [](ServerRequest&) {
    ServerReply reply;
    reply.content_type = "text/javascript";
    reply.body = "// a page";
    return reply;
  });
  server.route(HttpMethod::get, "/api/data", [](ServerRequest&) {
    return ServerReply::json(200, {{"secret", 42}});
  });
  const int port = server.bind("127.0.0.1:0");
  std::thread serving([&] { server.serve(); });
  const std::string url = fmt::format("https://127.0.0.1:{}", port);
  {
    HttpsClient anonymous(url, identity.fingerprint, "");
    const HttpResponse page = anonymous.get("/page.js");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, "// a page");
    EXPECT_EQ(authorizer_asked, 0);
    EXPECT_EQ(anonymous.get("/api/data").status, 401);
    // Exactly that path and GET: nothing near it.
    EXPECT_EQ(anonymous.get("/page.jsx").status, 401);
    EXPECT_EQ(anonymous.get("/page-js").status, 401);
    EXPECT_EQ(anonymous.post("/page.js", {}).status, 401);
    HttpsClient wrong(url, identity.fingerprint, "bad");
    EXPECT_EQ(wrong.get("/page.js").status, 200);  // a token, right or wrong, changes nothing
    EXPECT_EQ(wrong.get("/api/data").status, 401);
    HttpsClient good(url, identity.fingerprint, "good");
    EXPECT_EQ(good.get("/api/data").status, 200);
  }
  server.stop();
  serving.join();
}

}  // namespace
}  // namespace spare::pool
