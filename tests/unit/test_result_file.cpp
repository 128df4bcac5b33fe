// The XDMF sidecar of result files.
#include <gtest/gtest.h>

#include "spare/result_file.hpp"

namespace spare {
namespace {

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
