// Result files: a checkpoint merged into plain HDF5 plus an XDMF sidecar.
//
//   result.h5
//   ├── @format = "spare-result-1", @spare_version, @job_name, @kernel, @step, @time
//   ├── parameters/          @name = value for every kernel parameter
//   ├── diagnostics/         @name = value: the kernel's diagnostics at the last step
//   ├── scalars/             @name = value for every checkpointed scalar
//   └── temperature          the whole global dataset
//       @global_shape, @axes ("y,x"), @origin, @spacing, @units, @description
#include "spare/result_file.hpp"

#include <fmt/format.h>

#include <map>

#include "spare/atomic_file.hpp"
#include "spare/error.hpp"

namespace spare {

namespace fs = std::filesystem;

void write_run_attributes(h5::Group& root, const RunDescription& run) {
  root.write_attribute("spare_version", run.spare_version);
  root.write_attribute("job_name", run.job_name);
  root.write_attribute("kernel", run.kernel);
  root.write_attribute("step", run.step);
  root.write_attribute("time", run.time);
  h5::Group diagnostics = root.has_link("diagnostics") ? root.open_group("diagnostics")
                                                       : root.create_group("diagnostics");
  for (const auto& [name, value] : run.diagnostics)
    diagnostics.write_attribute(name, value);
  h5::Group parameters =
      root.has_link("parameters") ? root.open_group("parameters") : root.create_group("parameters");
  for (const auto& [name, value] : run.params.values()) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            parameters.write_attribute(name, std::string(v ? "true" : "false"));
          } else {
            parameters.write_attribute(name, v);
          }
        },
        value);
  }
}

void write_dataset_attributes(h5::Dataset& dataset, const DatasetRecord& record) {
  dataset.write_attribute("global_shape", std::vector<std::int64_t>(record.grid.shape.begin(),
                                                                    record.grid.shape.end()));
  dataset.write_attribute("axes", fmt::format("{}", fmt::join(record.grid.axes, ",")));
  dataset.write_attribute("origin", record.grid.origin);
  dataset.write_attribute("spacing", record.grid.spacing);
  dataset.write_attribute("units", record.units);
  dataset.write_attribute("description", record.description);
}

namespace {

std::string xdmf_number_type(DType type) {
  switch (type) {
    case DType::f32:
    case DType::f64:
      return "Float";
    case DType::i32:
    case DType::i64:
      return "Int";
    case DType::u64:
      return "UInt";
  }
  return "Float";
}

std::string join_numbers(const std::vector<double>& values) {
  std::string text;
  for (double v : values)
    text += fmt::format("{}{:.17g}", text.empty() ? "" : " ", v);
  return text;
}

}  // namespace

namespace {

bool structured(const GridSpec& grid) {
  return !grid.points && (grid.shape.size() == 2 || grid.shape.size() == 3);
}
bool point_cloud(const GridSpec& grid) {
  return grid.points && grid.shape.size() == 2 && grid.shape[1] == 3;
}

std::string data_item(const DatasetRecord& d, const std::string& h5_file_name) {
  return fmt::format(
      "<DataItem Dimensions=\"{}\" NumberType=\"{}\" Precision=\"{}\" "
      "Format=\"HDF\">{}:/{}</DataItem>",
      fmt::join(d.grid.shape, " "), xdmf_number_type(d.dtype), dtype_size(d.dtype), h5_file_name,
      d.name);
}

}  // namespace

bool has_xdmf_grid(const Manifest& manifest) {
  for (const DatasetRecord& d : manifest.datasets) {
    if (structured(d.grid) || point_cloud(d.grid)) return true;
  }
  return false;
}

std::string xdmf_document(const Manifest& manifest, const std::string& h5_file_name) {
  // One XDMF grid per distinct grid; datasets on it become its attributes.
  // A structured grid is a co-rectilinear mesh; a point grid is a cloud
  // whose coordinates are its first dataset.
  std::map<std::string, std::vector<const DatasetRecord*>> grids;
  std::vector<std::string> order;
  for (const DatasetRecord& d : manifest.datasets) {
    if (!structured(d.grid) && !point_cloud(d.grid)) continue;
    const std::string key = fmt::format("{}|{}|{}|{}", d.grid.points, fmt::join(d.grid.shape, " "),
                                        join_numbers(d.grid.origin), join_numbers(d.grid.spacing));
    if (!grids.count(key)) order.push_back(key);
    grids[key].push_back(&d);
  }
  std::string xml =
      "<?xml version=\"1.0\" ?>\n"
      "<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
      "<Xdmf Version=\"3.0\">\n  <Domain>\n";
  for (std::size_t index = 0; index < order.size(); ++index) {
    const std::vector<const DatasetRecord*>& datasets = grids[order[index]];
    const GridSpec& grid = datasets.front()->grid;
    xml += fmt::format(
        "    <Grid Name=\"{}{}\" GridType=\"Uniform\">\n      <Time Value=\"{:.17g}\"/>\n",
        manifest.run.kernel, index == 0 ? "" : fmt::format("-{}", index), manifest.run.time);
    std::size_t first_attribute = 0;
    if (grid.points) {
      xml += fmt::format(
          "      <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"{}\" "
          "NodesPerElement=\"1\"/>\n"
          "      <Geometry GeometryType=\"XYZ\">\n        {}\n      </Geometry>\n",
          grid.shape[0], data_item(*datasets.front(), h5_file_name));
      first_attribute = 1;
    } else {
      const std::size_t n = grid.shape.size();
      xml += fmt::format(
          "      <Topology TopologyType=\"{}DCoRectMesh\" Dimensions=\"{}\"/>\n"
          "      <Geometry GeometryType=\"{}\">\n"
          "        <DataItem Name=\"Origin\" Dimensions=\"{}\" NumberType=\"Float\" "
          "Precision=\"8\" Format=\"XML\">{}</DataItem>\n"
          "        <DataItem Name=\"Spacing\" Dimensions=\"{}\" NumberType=\"Float\" "
          "Precision=\"8\" Format=\"XML\">{}</DataItem>\n"
          "      </Geometry>\n",
          n, fmt::join(grid.shape, " "), n == 2 ? "ORIGIN_DXDY" : "ORIGIN_DXDYDZ", n,
          join_numbers(grid.origin), n, join_numbers(grid.spacing));
    }
    for (std::size_t k = first_attribute; k < datasets.size(); ++k) {
      xml += fmt::format(
          "      <Attribute Name=\"{}\" AttributeType=\"{}\" Center=\"Node\">\n"
          "        {}\n      </Attribute>\n",
          datasets[k]->name, grid.points ? "Vector" : "Scalar",
          data_item(*datasets[k], h5_file_name));
    }
    xml += "    </Grid>\n";
  }
  xml += "  </Domain>\n</Xdmf>\n";
  return xml;
}

bool write_result(const CheckpointReader& checkpoint, const fs::path& h5_path,
                  const fs::path& xdmf_path) {
  const Manifest& m = checkpoint.manifest();
  const fs::path temporary = h5_path.string() + ".tmp";
  try {
    h5::File file = h5::File::create(temporary);
    file.write_attribute("format", std::string("spare-result-1"));
    write_run_attributes(file, m.run);
    {
      h5::Group scalars = file.create_group("scalars");
      for (const Scalar& s : m.scalars) {
        if (const auto* integer = std::get_if<std::int64_t>(&s.value)) {
          scalars.write_attribute(s.name, *integer);
        } else {
          scalars.write_attribute(s.name, s.as_double());
        }
      }
    }
    std::map<std::string, h5::Dataset> datasets;
    for (const DatasetRecord& d : m.datasets) {
      h5::Dataset dataset = file.create_dataset(d.name, d.dtype, d.grid.shape);
      write_dataset_attributes(dataset, d);
      datasets.emplace(d.name, std::move(dataset));
    }
    for (const ShardRecord& shard : m.shards) {
      for (const BlockRecord& block : shard.blocks) {
        h5::Dataset& dataset = datasets.at(block.dataset);
        const DType dtype = m.find_dataset(block.dataset)->dtype;
        const std::vector<Index> shape = m.find_dataset(block.dataset)->grid.shape;
        checkpoint.stream_block(shard, block, [&](const Box& slab, const void* data) {
          h5::Dataspace file_space(shape);
          file_space.select(slab);
          dataset.write(data, dtype, h5::Dataspace(slab.count()), file_space);
        });
      }
    }
    datasets.clear();
    file.close();
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
  fsync_file(temporary);
  fs::rename(temporary, h5_path);
  if (!has_xdmf_grid(m)) {
    fs::remove(xdmf_path);
    return false;
  }
  write_file_atomically(xdmf_path, xdmf_document(m, h5_path.filename().string()));
  return true;
}

}  // namespace spare
