// Parser of Heartbeat's authkeys: text -> the spec's auth section.
//
//   auth N                 the key heartbeats are sent with (auth.active_key)
//   N crc                  CRC, no secret
//   N md5 SECRET           keyed MD5
//   N sha1 SECRET          HMAC-SHA1
// Key numbers are 1 to 15. The secret is the rest of the line after the
// method, its words joined by single blanks ('#' starts a comment, as in
// Heartbeat). The file's mode is not checked here: MigrateFromDir does it.
//
// Thread-safety: pure function.
#ifndef HACLUSTER_MIGRATE_AUTHKEYS_PARSER_H_
#define HACLUSTER_MIGRATE_AUTHKEYS_PARSER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/config/diagnostics.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::migrate {

struct AuthkeysParse {
  spec::v1::Auth auth;     // keys in file order; active_key from `auth N`
  int auth_line = 0;       // line of `auth N`; 0 when absent
  std::vector<int> key_lines;  // key_lines[i]: line of auth.keys(i)
  // Every non-blank line without comments, as (line, words joined by one
  // blank): what two nodes' files are compared on.
  std::vector<std::pair<int, std::string>> lines;
  std::vector<config::Diagnostic> diagnostics;
};

// Parses authkeys text. `filename` is used in diagnostics. Never fails.
AuthkeysParse ParseAuthkeys(absl::string_view text, const std::string& filename);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_AUTHKEYS_PARSER_H_
