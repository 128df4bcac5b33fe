// The dashboard's pages (launcher/pool/dashboard/), embedded in the program
// when it is built (dashboard_assets.cpp.in): `spare pool` serves them itself,
// with no file to find at run time and nothing fetched from elsewhere.
#pragma once

#include <string_view>
#include <vector>

namespace spare::pool {

struct DashboardAsset {
  std::string_view path;  // "/", "/dashboard.js", ...
  std::string_view content_type;
  std::string_view body;
};

const std::vector<DashboardAsset>& dashboard_assets();

}  // namespace spare::pool
