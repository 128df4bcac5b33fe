// Input datasets: each rank reads exactly its own block, at its global offsets,
// into its field's interior; a dataset that does not fit is refused by name.
#include <gtest/gtest.h>

#include "spare/error.hpp"
#include "spare/h5.hpp"
#include "spare/input_file.hpp"
#include "spare/state.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

constexpr Index kNy = 7, kNx = 9;

double value_at(Index i, Index j) {
  return static_cast<double>(100 * i + j) + 0.5;
}

class InputFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<double> values;
    for (Index i = 0; i < kNy; ++i) {
      for (Index j = 0; j < kNx; ++j)
        values.push_back(value_at(i, j));
    }
    h5::File file = h5::File::create(path_);
    h5::Group fields = file.create_group("fields");
    h5::Dataspace whole({kNy, kNx});
    fields.create_dataset("u", DType::f64, {kNy, kNx})
        .write(values.data(), DType::f64, whole, whole);
    file.close();
  }

  InputDataset input(std::string dataset = "fields/u") const {
    return {"initial_file", path_, std::move(dataset), DType::f64, {kNy, kNx}, "[ny, nx]"};
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_ / "u0.h5";
};

TEST_F(InputFile, EachRankReadsItsOwnBlockIntoItsInterior) {
  for (int nranks : {1, 2, 4}) {
    for (int rank = 0; rank < nranks; ++rank) {
      SCOPED_TRACE(::testing::Message() << "rank " << rank << " of " << nranks);
      State state(rank, nranks);
      const Grid& grid = state.add_grid(GridSpec{{kNy, kNx}, {0, 0}, {1, 1}, {"y", "x"}}, 1);
      Field<double>& u = state.add_field<double>("u", grid, {});
      state.allocate();
      for (Index k = 0; k < static_cast<Index>(u.storage_elements()); ++k)
        u.data()[k] = -1.0;
      read_input_block(input(), u);
      const Box& block = u.interior();
      for (Index i = -1; i <= block.extent(0); ++i) {
        for (Index j = -1; j <= block.extent(1); ++j) {
          const bool halo = i < 0 || j < 0 || i == block.extent(0) || j == block.extent(1);
          ASSERT_EQ(u.at(i, j), halo ? -1.0 : value_at(block.lo[0] + i, block.lo[1] + j))
              << "at local " << i << "," << j;
        }
      }
    }
  }
}

TEST_F(InputFile, MismatchesNameKeyFileDatasetAndExpectation) {
  EXPECT_NO_THROW(check_input_dataset(input()));
  InputDataset wrong = input();
  wrong.shape = {kNx, kNy};
  try {
    check_input_dataset(wrong);
    FAIL();
  } catch (const JobError& e) {
    EXPECT_EQ(std::string(e.what()),
              "initial_file " + path_.string() +
                  ": dataset 'fields/u' holds f64 of shape [7, 9]; expected a 2D f64 dataset "
                  "'fields/u' of shape [ny, nx] = [9, 7]");
  }
  wrong = input();
  wrong.dtype = DType::f32;
  EXPECT_THROW(check_input_dataset(wrong), JobError);
  EXPECT_THROW(check_input_dataset(input("u")), JobError);
  EXPECT_THROW(check_input_dataset(input("fields")), JobError);  // a group
}

}  // namespace
}  // namespace spare
