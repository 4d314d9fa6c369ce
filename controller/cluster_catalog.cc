#include "controller/cluster_catalog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/diagnostics.h"
#include "agent/config/yaml_codec.h"
#include "agent/groups/controller.h"
#include "agent/node/settings.h"

namespace hacluster::controller {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

const CatalogCluster* Catalog::Find(const std::string& name) const {
  for (const CatalogCluster& c : clusters) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

absl::StatusOr<Catalog> BuildCatalog(
    const std::vector<std::pair<std::string, std::string>>& files) {
  Catalog out;
  std::vector<std::string> problems;
  for (const auto& [file, text] : files) {
    config::ValidateOptions options;
    options.base_dir = config::DirName(file);
    config::ParsedSpec parsed = config::LoadSpecText(text, file, options);
    if (config::HasErrors(parsed.diagnostics)) {
      problems.push_back(absl::StrCat(config::FormatDiagnostics(parsed.diagnostics), file,
                                      " is invalid"));
      continue;
    }
    CatalogCluster c;
    c.name = parsed.spec.cluster_name();
    c.file = file;
    c.spec = parsed.spec;
    for (const auto& n : c.spec.nodes()) {
      absl::StatusOr<std::vector<std::string>> endpoints =
          agent::ApiListenAddresses(c.spec, n.name());
      if (!endpoints.ok()) {
        problems.push_back(absl::StrCat(file, ": ", endpoints.status().message()));
        continue;
      }
      if (endpoints->empty()) {
        problems.push_back(absl::StrCat(
            file, ": api.listen is empty: the controller reaches node ", n.name(),
            " over it (give it, e.g. \":7443\")"));
        continue;
      }
      c.nodes.push_back({n.name(), *std::move(endpoints)});
    }
    for (const auto& g : c.spec.groups()) {
      std::vector<std::string> addresses;
      for (const auto& r : g.resources()) {
        std::string a = agent::VirtualAddressOf(r);
        if (!a.empty()) addresses.push_back(std::move(a));
      }
      c.group_addresses.emplace_back(g.name(), std::move(addresses));
    }
    out.clusters.push_back(std::move(c));
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  if (out.clusters.empty()) return absl::InvalidArgumentError("no cluster spec to watch");
  std::sort(out.clusters.begin(), out.clusters.end(),
            [](const CatalogCluster& a, const CatalogCluster& b) { return a.name < b.name; });
  for (size_t i = 1; i < out.clusters.size(); ++i) {
    if (out.clusters[i].name == out.clusters[i - 1].name) {
      problems.push_back(absl::StrCat("cluster ", out.clusters[i].name, " is in both ",
                                      out.clusters[i - 1].file, " and ", out.clusters[i].file));
    }
  }
  for (size_t i = 0; i < out.clusters.size(); ++i) {
    for (const auto& [group, addresses] : out.clusters[i].group_addresses) {
      for (const std::string& a : addresses) {
        auto [it, added] = out.by_address.emplace(a, std::make_pair(i, group));
        if (!added && it->second.first != i) {
          problems.push_back(absl::StrCat("virtual IP ", a, " is in cluster ",
                                          out.clusters[it->second.first].name, " (",
                                          out.clusters[it->second.first].file, ") and in ",
                                          out.clusters[i].name, " (", out.clusters[i].file, ")"));
        }
      }
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  return out;
}

absl::StatusOr<Catalog> LoadCatalog(const std::string& path) {
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> files;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().string();
      if (!entry.is_regular_file()) continue;
      if (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml")) names.push_back(name);
    }
    if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot list ", path, ": ", ec.message()));
    std::sort(names.begin(), names.end());
    if (names.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no *.yaml or *.yml spec in it"));
    }
    for (const std::string& name : names) {
      absl::StatusOr<std::string> text = ReadText(name);
      if (!text.ok()) return text.status();
      files.emplace_back(name, *std::move(text));
    }
  } else {
    absl::StatusOr<std::string> text = ReadText(path);
    if (!text.ok()) return text.status();
    files.emplace_back(path, *std::move(text));
  }
  return BuildCatalog(files);
}

}  // namespace hacluster::controller
