// Typed parameter parsing: what is accepted, what is refused and how the
// refusal reads.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "spare/params.hpp"

namespace spare {
namespace {

TEST(Params, IntegerWithinRange) {
  const ParamSpec spec = ParamSpec::integer("nx", "", 8, {.min = 3, .max = 100});
  EXPECT_EQ(std::get<std::int64_t>(parse_param(spec, " 42 ")), 42);
  EXPECT_EQ(std::get<std::int64_t>(parse_param(spec, "3")), 3);
  EXPECT_EQ(std::get<std::int64_t>(parse_param(spec, "100")), 100);
}

TEST(Params, IntegerRefusalsSayWhatWasExpected) {
  const ParamSpec spec = ParamSpec::integer("nx", "", 8, {.min = 3, .max = 100});
  for (const char* bad : {"2", "101", "-5", "4.5", "abc", "", "7x", "1e3"}) {
    try {
      parse_param(spec, bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("an integer >= 3 and <= 100"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(std::string("found '") + bad + "'"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Params, IntegersBeyond64BitsOrInExponentsAreRefusedWithWhy) {
  const ParamSpec spec = ParamSpec::integer("nx", "", 8, {.min = 3});
  const auto message = [&](const char* text) {
    try {
      parse_param(spec, text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << "accepted '" << text << "'";
    return std::string();
  };
  EXPECT_EQ(message("1e9"),
            "expected an integer >= 3, found '1e9'; integers are written in digits: 1000000000");
  EXPECT_EQ(message("9223372036854775808"),
            "expected an integer >= 3, found '9223372036854775808'; more than a 64-bit integer "
            "holds");
  EXPECT_EQ(message("1e19"), "expected an integer >= 3, found '1e19'");  // no int64 to suggest
  EXPECT_EQ(message("4.5"), "expected an integer >= 3, found '4.5'");
  EXPECT_EQ(std::get<std::int64_t>(parse_param(spec, "9223372036854775807")),
            std::numeric_limits<std::int64_t>::max());
}

TEST(Params, OpenBoundsExcludeTheLimit) {
  const ParamSpec spec = ParamSpec::real("alpha", "", 1.0, {.min = 0, .max = 1, .min_open = true});
  EXPECT_THROW(parse_param(spec, "0"), std::invalid_argument);
  EXPECT_DOUBLE_EQ(std::get<double>(parse_param(spec, "1")), 1.0);
  EXPECT_DOUBLE_EQ(std::get<double>(parse_param(spec, "1e-300")), 1e-300);
  EXPECT_THROW(parse_param(spec, "1.0000001"), std::invalid_argument);
  EXPECT_THROW(parse_param(spec, "nan"), std::invalid_argument);
  EXPECT_THROW(parse_param(spec, "inf"), std::invalid_argument);
}

TEST(Params, KeywordsStandForValues) {
  ParamSpec spec = ParamSpec::integer("ranks", "", 0, {.min = 1});
  spec.keywords = {{"auto", std::int64_t{0}}};
  EXPECT_EQ(std::get<std::int64_t>(parse_param(spec, "auto")), 0);
  EXPECT_THROW(parse_param(spec, "0"), std::invalid_argument);
  EXPECT_NE(describe_expected(spec).find("'auto'"), std::string::npos);
}

TEST(Params, BooleansAndChoices) {
  const ParamSpec flag = ParamSpec::boolean("verbose", "", false);
  EXPECT_TRUE(std::get<bool>(parse_param(flag, "Yes")));
  EXPECT_FALSE(std::get<bool>(parse_param(flag, "off")));
  EXPECT_THROW(parse_param(flag, "maybe"), std::invalid_argument);
  const ParamSpec option = ParamSpec::choice("option", "", {"call", "put"}, "call");
  EXPECT_EQ(std::get<std::string>(parse_param(option, "put")), "put");
  try {
    parse_param(option, "Put");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("one of: call, put"), std::string::npos);
  }
}

TEST(Params, RealsRoundTripThroughTheirText) {
  // Resolved job files are read back by the workers: every double must survive.
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::uint64_t> bits;
  const ParamSpec spec = ParamSpec::real("x", "", 0.0);
  for (int i = 0; i < 10000; ++i) {
    double value;
    std::uint64_t raw = bits(random);
    std::memcpy(&value, &raw, sizeof value);
    if (!std::isfinite(value)) continue;
    const double back = std::get<double>(parse_param(spec, format_param(value)));
    EXPECT_EQ(std::memcmp(&back, &value, sizeof value), 0) << format_param(value);
  }
}

TEST(Params, FileParametersAreOptionalStrings) {
  const ParamSpec spec = ParamSpec::input_file("initial_file", "");
  EXPECT_EQ(spec.type, ParamType::file);
  ASSERT_TRUE(spec.default_value);
  EXPECT_EQ(std::get<std::string>(*spec.default_value), "");  // not given
  EXPECT_EQ(std::get<std::string>(parse_param(spec, "")), "");
  // Parsing keeps the text; load_job_spec resolves and checks the path.
  EXPECT_EQ(std::get<std::string>(parse_param(spec, " data/u0.h5 ")), "data/u0.h5");
  EXPECT_EQ(type_name(ParamType::file), "file");
  EXPECT_EQ(param_type_from_name("file"), ParamType::file);
  EXPECT_NE(describe_expected(spec).find("the path of an existing file"), std::string::npos);
}

TEST(Params, ParamSetTypedAccess) {
  ParamSet set;
  set.set("nx", std::int64_t{5});
  set.set("init", std::string("sine"));
  EXPECT_EQ(set.integer("nx"), 5);
  EXPECT_EQ(set.text("init"), "sine");
  EXPECT_THROW(set.real("nx"), std::logic_error);
  EXPECT_THROW(set.integer("ny"), std::logic_error);
}

}  // namespace
}  // namespace spare
