// Kernel descriptions to and from JSON.
#include "spare/kernel_schema.hpp"

#include <stdexcept>

#include "spare/checkpoint_manifest.hpp"

namespace spare {

using nlohmann::json;

namespace {

json value_to_json(const ParamValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

ParamValue value_from_json(const json& j) {
  ParamSet one = params_from_json(json{{"v", j}});
  return one.at("v");
}

json range_bound(const std::optional<double>& bound) {
  return bound ? json(*bound) : json(nullptr);
}

std::optional<double> range_bound(const json& j) {
  return j.is_null() ? std::nullopt : std::optional<double>(j.get<double>());
}

}  // namespace

json registry_to_json(const KernelRegistry& registry) {
  json kernels = json::array();
  for (const KernelInfo* info : registry.all()) {
    json params = json::array();
    for (const ParamSpec& p : info->params) {
      json keywords = json::array();
      for (const auto& [word, value] : p.keywords)
        keywords.push_back({word, value_to_json(value)});
      params.push_back({{"name", p.name},
                        {"type", type_name(p.type)},
                        {"description", p.description},
                        {"default", p.default_value ? value_to_json(*p.default_value) : json()},
                        {"min", range_bound(p.range.min)},
                        {"max", range_bound(p.range.max)},
                        {"min_open", p.range.min_open},
                        {"max_open", p.range.max_open},
                        {"choices", p.choices},
                        {"unit", p.unit},
                        {"keywords", keywords}});
    }
    json datasets = json::array();
    for (const DatasetInfo& d : info->datasets) {
      datasets.push_back({{"name", d.name}, {"shape", d.shape}, {"description", d.description}});
    }
    kernels.push_back({{"name", info->name},
                       {"summary", info->summary},
                       {"revision", info->revision},
                       {"cuda", info->cuda},
                       {"parameters", params},
                       {"datasets", datasets}});
  }
  return kernels;
}

json kernel_revisions(const KernelRegistry& registry) {
  json revisions = json::object();
  for (const KernelInfo* info : registry.all())
    revisions[info->name] = info->revision;
  return revisions;
}

KernelRegistry registry_from_json(const json& kernels) {
  KernelRegistry registry;
  try {
    for (const json& k : kernels) {
      KernelInfo info;
      info.name = k.at("name").get<std::string>();
      info.summary = k.at("summary").get<std::string>();
      info.revision = k.value("revision", 1);
      info.cuda = k.value("cuda", false);
      for (const json& p : k.at("parameters")) {
        ParamSpec spec;
        spec.name = p.at("name").get<std::string>();
        spec.type = param_type_from_name(p.at("type").get<std::string>());
        spec.description = p.at("description").get<std::string>();
        if (!p.at("default").is_null()) spec.default_value = value_from_json(p.at("default"));
        spec.range = {range_bound(p.at("min")), range_bound(p.at("max")),
                      p.at("min_open").get<bool>(), p.at("max_open").get<bool>()};
        spec.choices = p.at("choices").get<std::vector<std::string>>();
        spec.unit = p.at("unit").get<std::string>();
        for (const json& kw : p.at("keywords")) {
          spec.keywords.emplace_back(kw.at(0).get<std::string>(), value_from_json(kw.at(1)));
        }
        info.params.push_back(std::move(spec));
      }
      for (const json& d : k.at("datasets")) {
        info.datasets.push_back({d.at("name").get<std::string>(), d.at("shape").get<std::string>(),
                                 d.at("description").get<std::string>()});
      }
      registry.add(std::move(info));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("a kernel description is malformed: ") + e.what());
  }
  return registry;
}

}  // namespace spare
