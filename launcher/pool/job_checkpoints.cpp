// A pool job's checkpoint expectation, as JSON in its record.
#include "job_checkpoints.hpp"

#include "spare/dtype.hpp"
#include "spare/error.hpp"

namespace spare::pool {

using nlohmann::json;

json to_json(const JobCheckpoints& c) {
  json datasets = json::array();
  for (const DatasetShape& d : c.datasets)
    datasets.push_back({{"name", d.name}, {"dtype", dtype_name(d.dtype)}, {"shape", d.shape}});
  return {{"kernel", c.run.kernel},
          {"kernel_revision", c.run.kernel_revision},
          {"parameters", params_to_json(c.run.params)},
          {"datasets", datasets}};
}

JobCheckpoints job_checkpoints_from_json(const json& j) {
  try {
    JobCheckpoints c;
    c.run.kernel = j.at("kernel").get<std::string>();
    c.run.kernel_revision = j.at("kernel_revision").get<int>();
    c.run.params = params_from_json(j.at("parameters"));
    for (const json& d : j.at("datasets")) {
      c.datasets.push_back({d.at("name").get<std::string>(),
                            dtype_from_name(d.at("dtype").get<std::string>()),
                            d.at("shape").get<std::vector<Index>>()});
    }
    return c;
  } catch (const json::exception& e) {
    throw CheckpointError(std::string("a job's checkpoint expectation is malformed: ") + e.what());
  }
}

ExpectedCheckpoint expected_checkpoint(const JobCheckpoints& c, std::int64_t step,
                                       std::int64_t steps) {
  ExpectedCheckpoint expected;
  expected.step = step;
  expected.run = c.run;
  expected.last_step = steps;
  expected.datasets = c.datasets;
  return expected;
}

}  // namespace spare::pool
