// How long each parser of outside input takes to refuse junk as large as
// the 4 MiB file cap: an ha.cf of unknown words, a YAML spec of unknown keys
// and one of node entries with bad values, a haresources of undeclared
// nodes and unknown tokens, an authkeys of bad key lines. Each input is made
// once (fixed seed, so every run parses the same text) and parsed N times
// the way `hacli migrate` and `hacli validate` parse it; the program prints
// the median and p99 of those parse times, the diagnostics produced and the
// peak resident memory.
//
//   parser_junk_bench [--short] [--runs N] [--only WORD]
//
// --short: 1 MiB inputs and 3 runs (the test suite's check that it runs).
// --only WORD: only the inputs whose name contains WORD (e.g. YAML).
// The target for the full run is every median and p99 under 0.5 s.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "agent/config/validate.h"
#include "agent/config/yaml_codec.h"
#include "migrate/migrate.h"

namespace {

using hacluster::config::Diagnostic;

// Words of 3 to 12 lower-case letters: as long as the names they are
// compared with, so that no length rule alone skips them.
std::string Word(std::mt19937& rng) {
  std::uniform_int_distribution<int> len(3, 12);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string w;
  for (int i = len(rng); i > 0; --i) w.push_back(static_cast<char>(letter(rng)));
  return w;
}

std::string HaCfJunk(size_t bytes, std::mt19937& rng) {
  std::string s;
  while (s.size() < bytes) s += Word(rng) + " " + Word(rng) + "\n";
  s.resize(bytes);
  return s;
}

std::string YamlJunk(size_t bytes, std::mt19937& rng) {
  std::string s = "cluster_name: junk\n";
  int n = 0;
  while (s.size() < bytes) s += Word(rng) + std::to_string(n++) + ": 1\n";
  s.resize(s.rfind('\n', bytes) + 1);
  return s;
}

// Known keys with values no spec accepts, a million values in all: the
// codec's first pass over yaml-cpp's events stops past kMaxSpecValues,
// before the node tree is built.
std::string YamlKnownKeysJunk(size_t bytes, std::mt19937& rng) {
  std::string s = "cluster_name: junk\nnodes:\n";
  while (s.size() < bytes) s += "  - {name: " + Word(rng) + ", addresses: [" + Word(rng) + "]}\n";
  s.resize(s.rfind('\n', bytes) + 1);
  return s;
}

std::string HaresourcesJunk(size_t bytes, std::mt19937& rng) {
  std::string s;
  while (s.size() < bytes) s += Word(rng) + " " + Word(rng) + " 10.0.0.1/99\n";
  s.resize(s.rfind('\n', bytes) + 1);
  return s;
}

std::string AuthkeysJunk(size_t bytes, std::mt19937& rng) {
  std::string s = "auth 1\n";
  while (s.size() < bytes) s += Word(rng) + " sha1 " + Word(rng) + "\n";
  s.resize(s.rfind('\n', bytes) + 1);
  return s;
}

long PeakRssMiB() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

struct Figures {
  double median_ms;
  double p99_ms;
  size_t diagnostics;
};

Figures Measure(int runs, const std::function<size_t()>& parse) {
  std::vector<double> ms;
  size_t diagnostics = 0;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    diagnostics = parse();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                           start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  // p99 of a few runs is their maximum (nearest rank).
  size_t rank = static_cast<size_t>(std::ceil(0.99 * ms.size())) - 1;
  return {ms[ms.size() / 2], ms[rank], diagnostics};
}

}  // namespace

int main(int argc, char** argv) {
  bool short_mode = false;
  int runs = 21;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--short") == 0) {
      short_mode = true;
      runs = 3;
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--short] [--runs N] [--only WORD]\n", argv[0]);
      return 2;
    }
  }
  const size_t bytes = short_mode ? (1u << 20) : (4u << 20);
  std::mt19937 rng(13);
  const std::string hacf = HaCfJunk(bytes, rng);
  const std::string yaml = YamlJunk(bytes, rng);
  const std::string yaml_known = YamlKnownKeysJunk(bytes, rng);
  const std::string haresources = HaresourcesJunk(bytes, rng);
  const std::string authkeys = AuthkeysJunk(bytes, rng);

  using hacluster::migrate::ConvertLegacy;
  using hacluster::migrate::LegacyText;
  const std::string small_hacf = "node node01 node02\nbcast eth0\n";
  const std::string small_haresources = "node01 192.0.2.10 asterisk\n";
  const std::string small_authkeys = "auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n";
  auto convert = [](const std::string& ha_cf, const std::string& haresources,
                    const std::string& authkeys) {
    LegacyText t;
    t.ha_cf = ha_cf;
    t.haresources = haresources;
    t.authkeys = authkeys;
    return ConvertLegacy(t, {}).diagnostics.size();
  };

  struct Case {
    const char* name;
    std::function<size_t()> parse;
  };
  const std::vector<Case> cases = {
      {"ha.cf of unknown words (hacli migrate)",
       [&] { return convert(hacf, small_haresources, small_authkeys); }},
      {"YAML spec of unknown keys (hacli validate)",
       [&] {
         hacluster::config::ParsedSpec p = hacluster::config::ParseSpecYaml(yaml, "junk.yaml");
         hacluster::config::ValidateOptions o;
         o.check_files = false;
         return p.diagnostics.size() +
                hacluster::config::ValidateSpec(p.spec, p.source_map, o).size();
       }},
      {"YAML spec of bad node entries (hacli validate)",
       [&] {
         hacluster::config::ParsedSpec p =
             hacluster::config::ParseSpecYaml(yaml_known, "junk.yaml");
         hacluster::config::ValidateOptions o;
         o.check_files = false;
         return p.diagnostics.size() +
                hacluster::config::ValidateSpec(p.spec, p.source_map, o).size();
       }},
      {"haresources of undeclared nodes (hacli migrate)",
       [&] { return convert(small_hacf, haresources, small_authkeys); }},
      {"authkeys of bad key lines (hacli migrate)",
       [&] { return convert(small_hacf, small_haresources, authkeys); }},
  };
  std::printf("parser_junk_bench: %zu-byte inputs, %d runs each%s\n", bytes, runs,
              short_mode ? " (short mode)" : "");
  std::printf("%-50s %12s %12s %12s\n", "input", "median ms", "p99 ms", "diagnostics");
  bool over = false;
  for (const Case& c : cases) {
    if (!only.empty() && std::string(c.name).find(only) == std::string::npos) continue;
    Figures f = Measure(runs, c.parse);
    over = over || f.p99_ms > 500;
    std::printf("%-50s %12.1f %12.1f %12zu\n", c.name, f.median_ms, f.p99_ms, f.diagnostics);
    std::fflush(stdout);
  }
  std::printf("peak RSS: %ld MiB\n", PeakRssMiB());
  std::printf("target (median and p99 under 500 ms at 4 MiB): %s\n",
              short_mode ? "not judged in short mode" : (over ? "MISSED" : "met"));
  return 0;
}
