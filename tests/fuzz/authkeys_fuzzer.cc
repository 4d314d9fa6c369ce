// libFuzzer target: authkeys text through its parser. Properties:
//  - what the parser keeps is what Heartbeat would use: key numbers 1..15,
//    each once; crc without a secret, md5/sha1 with a one-word secret taken
//    from the text; an active key that is one of the keys; no errors only
//    when there is an active key;
//  - no diagnostic ever quotes a secret: marker words appended in every
//    secret-bearing position (a secret, words after it, crc's stray secret,
//    a secret without a method or on its own line, a key pasted after
//    `auth N`) never show up in a message.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "migrate/authkeys_parser.h"

namespace {

constexpr char kMarker[] = "Zq9";

bool IsBlankChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u <= ' ';  // as SplitLegacyLines: 0x7f is text, as for sscanf
}

void CheckStructure(const std::string& text) {
  using hacluster::spec::v1::AUTH_METHOD_CRC;
  hacluster::migrate::AuthkeysParse p = hacluster::migrate::ParseAuthkeys(text, "authkeys");
  if (p.key_lines.size() != static_cast<size_t>(p.auth.keys_size())) __builtin_trap();
  std::set<uint32_t> ids;
  int previous_line = 0;
  for (int i = 0; i < p.auth.keys_size(); ++i) {
    const auto& key = p.auth.keys(i);
    if (key.id() < 1 || key.id() > 15 || !ids.insert(key.id()).second) __builtin_trap();
    if (p.key_lines[i] <= previous_line) __builtin_trap();
    previous_line = p.key_lines[i];
    if ((key.method() == AUTH_METHOD_CRC) != key.secret().empty()) __builtin_trap();
    for (char c : key.secret()) {
      if (IsBlankChar(c)) __builtin_trap();
    }
    if (!absl::StrContains(text, key.secret())) __builtin_trap();
  }
  if (p.auth.active_key() != 0 && ids.count(p.auth.active_key()) == 0) __builtin_trap();
  bool errors = hacluster::config::HasErrors(p.diagnostics);
  if (!errors && (p.auth.active_key() == 0 || p.auth_line == 0)) __builtin_trap();
}

void CheckNoSecretInMessages(const std::string& text) {
  if (absl::StrContains(text, kMarker)) return;  // markers must come from below only
  std::string with_secrets = text;
  with_secrets +=
      "\nauth 3 Zq9a\n"
      "15 sha1 Zq9b Zq9c\n"
      "14 crc Zq9d Zq9e\n"
      "13 Zq9f\n"
      "Zq9g\n"
      "12 md5 Zq9h\n"
      "12 md5 Zq9i Zq9j\n"
      "11 bogus Zq9k\n";
  hacluster::migrate::AuthkeysParse p =
      hacluster::migrate::ParseAuthkeys(with_secrets, "authkeys");
  for (const auto& d : p.diagnostics) {
    if (absl::StrContains(d.message, kMarker)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  CheckStructure(text);
  CheckNoSecretInMessages(text);
  return 0;
}
