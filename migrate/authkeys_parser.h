// Parser of Heartbeat's authkeys: text -> the spec's auth section.
//
//   auth N                 the key heartbeats are sent with (auth.active_key)
//   N crc                  CRC, no secret
//   N md5 SECRET           keyed MD5
//   N sha1 SECRET          HMAC-SHA1
// Key numbers are 1 to 15. Heartbeat reads each line with fgets + sscanf
// ("auth %d", "%d%s%s"), and so does this parser: the secret is the first
// word after the method (a warning counts the words after it, which are
// ignored), and whatever follows `auth N` is ignored (a warning unless it
// starts with '#'). Only a line whose first non-blank character is '#' is a
// comment; a '#' later on a line is text (a secret may contain it).
// Diagnostics never quote a secret: they name the key number and count
// words instead (a public constant, such as the label `openssl md5` prints,
// is named). A weak secret is a warning: shorter than 16 characters, the
// digest label of the MOR wiki's `dd ... | openssl md5` recipe ("(stdin)=",
// "MD5(stdin)="), or a sample from Heartbeat's documentation. The file's
// mode is not checked here: MigrateFromDir does it.
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
  // Every non-comment line as (line, words joined by one blank), the
  // `auth N` line without what Heartbeat ignores after N: what two nodes'
  // files are compared on. Holds secrets: never put it in a message.
  std::vector<std::pair<int, std::string>> lines;
  std::vector<config::Diagnostic> diagnostics;
};

// Parses authkeys text. `filename` is used in diagnostics. Never fails.
AuthkeysParse ParseAuthkeys(absl::string_view text, const std::string& filename);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_AUTHKEYS_PARSER_H_
