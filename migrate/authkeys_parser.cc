#include "migrate/authkeys_parser.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "migrate/legacy_lines.h"

namespace hacluster::migrate {

namespace {

using config::Diagnostic;
using config::Location;
using config::Severity;

// Key number 1..15, or 0 when `s` is not one.
uint32_t KeyId(absl::string_view s) {
  if (s.empty() || s.size() > 2) return 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return 0;
  }
  uint32_t id = 0;
  if (!absl::SimpleAtoi(s, &id) || id < 1 || id > 15) return 0;
  return id;
}

// True when `s` is one to three digits: a word quoted in messages as a
// mistyped key number, too short to be a secret.
bool IsNumber(absl::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// "(stdin)=", "MD5(stdin)=", "SHA1(stdin)=": what `openssl md5` (and the
// other digest commands) print before the digest, older versions without
// the digest's name. The MOR wiki's recipe pipes `dd ... | openssl md5`
// into authkeys, and Heartbeat's key is that first word.
bool IsDigestLabel(absl::string_view secret) {
  return absl::EndsWith(secret, "(stdin)=");
}

// Secrets printed in Heartbeat's own sample authkeys and in the Linux-HA
// guides that people copy.
constexpr const char* kSampleSecrets[] = {
    "key-for-sha1-any-text-you-want", "key-for-md5-any-text-you-want", "HI!", "Hello!"};

constexpr size_t kMinSecretLength = 16;

// Why a key's secret is weak, as a warning; "" when it is not. Quotes the
// secret only when it is public anyway.
std::string WeakSecret(uint32_t id, const std::string& secret) {
  constexpr char kNew[] = " Make a new random one, e.g. `openssl rand -hex 32`";
  if (secret.empty()) return "";  // crc: no secret (method advice below)
  if (IsDigestLabel(secret)) {
    return absl::StrCat(
        "key ", id, "'s secret is '", secret, "', the label `openssl md5` prints before the "
        "digest (`openssl sha1` and others print the like): Heartbeat takes only that first "
        "word, so every cluster set up with the recipe `dd ... | openssl md5` into authkeys "
        "has this same, public key.", kNew);
  }
  for (const char* sample : kSampleSecrets) {
    if (secret == sample) {
      return absl::StrCat("key ", id, "'s secret is '", secret, "', the sample of Heartbeat's "
                          "documentation: anyone who read it knows it.", kNew);
    }
  }
  if (secret.size() < kMinSecretLength) {
    return absl::StrCat("key ", id, "'s secret is only ", secret.size(), " character",
                        secret.size() == 1 ? "" : "s", " long: one captured heartbeat lets "
                        "anyone try guesses offline until one matches.", kNew,
                        " (at least ", kMinSecretLength, " characters)");
  }
  return "";
}

}  // namespace

AuthkeysParse ParseAuthkeys(absl::string_view text, const std::string& filename) {
  AuthkeysParse out;
  auto add = [&](Severity s, int line, std::string message) {
    out.diagnostics.push_back(Diagnostic{s, Location{filename, line, 0}, std::move(message)});
  };
  uint32_t active = 0;
  std::map<uint32_t, int> seen;  // key id -> line
  ErrorLimit limit;
  for (const LegacyLine& line : SplitLegacyLines(text, CommentStyle::kLineStart)) {
    if (limit.Reached(&out.diagnostics, filename, line.line)) break;
    const std::string& first = line.words[0].text;
    if (absl::AsciiStrToLower(first) == "auth") {
      // Heartbeat reads this line with sscanf("auth %d"): whatever follows
      // the number is ignored, so it is compared between nodes without it.
      out.lines.emplace_back(
          line.line, line.words.size() >= 2 ? first + " " + line.words[1].text : first);
      if (out.auth_line != 0) {
        add(Severity::kError, line.line,
            absl::StrCat("second 'auth' line (the first is at line ", out.auth_line,
                         "); keep exactly one"));
        continue;
      }
      out.auth_line = line.line;
      if (line.words.size() < 2 || KeyId(line.words[1].text) == 0) {
        add(Severity::kError, line.line,
            "write 'auth N' with N the number (1 to 15) of the key heartbeats are "
            "sent with");
        continue;
      }
      active = KeyId(line.words[1].text);
      if (line.words.size() > 2 && line.words[2].text[0] != '#') {
        // The words are not quoted: a misplaced key line may hold a secret.
        size_t ignored = line.words.size() - 2;
        add(Severity::kWarning, line.line,
            absl::StrCat("'auth ", active, "' is followed by ", ignored, " word",
                         ignored == 1 ? "" : "s",
                         " that Heartbeat ignores and so does the conversion; start a "
                         "trailing note with '#' or remove it"));
      }
      continue;
    }
    out.lines.emplace_back(line.line, line.Normalized());
    uint32_t id = KeyId(first);
    if (id == 0) {
      // The word is quoted only when it cannot be a secret written on its own.
      add(Severity::kError, line.line,
          absl::StrCat(IsNumber(first) ? absl::StrCat("'", first, "'")
                                       : std::string("the first word"),
                       " is neither 'auth' nor a key number (1 to 15); key "
                       "lines are 'N METHOD [SECRET]', e.g. '1 sha1 SECRET'"));
      continue;
    }
    if (seen.count(id) > 0) {
      add(Severity::kError, line.line,
          absl::StrCat("key ", id, " is defined twice (also at line ", seen[id],
                       "); key numbers must be unique"));
      continue;
    }
    if (line.words.size() < 2) {
      add(Severity::kError, line.line,
          absl::StrCat("key ", id, " has no method; write '", id,
                       " sha1 SECRET' (methods: crc, md5, sha1)"));
      continue;
    }
    std::string method = absl::AsciiStrToLower(line.words[1].text);
    // Heartbeat reads a key line with sscanf("%d%s%s"): the secret is the
    // first word after the method, and the rest of the line is ignored.
    std::string secret = line.words.size() > 2 ? line.words[2].text : "";
    // Words after the secret up to a '#' note. No message quotes the secret
    // or these words (they may be the rest of a secret with blanks).
    size_t ignored = 0;
    for (size_t i = 3; i < line.words.size() && line.words[i].text[0] != '#'; ++i) {
      ++ignored;
    }
    if (ignored > 0 && !IsDigestLabel(secret)) {
      add(Severity::kWarning, line.line,
          absl::StrCat("key ", id, ": Heartbeat takes only the first word after the "
                       "method as the secret and ignores the ", ignored, " word",
                       ignored == 1 ? "" : "s",
                       " after it; the spec keeps the same one-word secret, so both sides "
                       "agree"));
    }
    spec::v1::AuthKey key;
    key.set_id(id);
    if (method == "crc") {
      key.set_method(spec::v1::AUTH_METHOD_CRC);
      if (!secret.empty()) {
        size_t words = line.words.size() - 2;
        add(Severity::kError, line.line,
            absl::StrCat("key ", id, " uses crc, which takes no secret, yet ", words,
                         words == 1 ? " word follows" : " words follow",
                         " the method; Heartbeat refuses this too: remove ",
                         words == 1 ? "it" : "them"));
        continue;
      }
    } else if (method == "md5" || method == "sha1") {
      key.set_method(method == "md5" ? spec::v1::AUTH_METHOD_MD5
                                     : spec::v1::AUTH_METHOD_SHA1);
      if (secret.empty()) {
        add(Severity::kError, line.line,
            absl::StrCat("key ", id, " uses ", method, " but has no secret; write '", id,
                         " ", method, " SECRET'"));
        continue;
      }
      key.set_secret(secret);
    } else {
      // "N WORD" alone may be a secret without its method: not quoted then.
      add(Severity::kError, line.line,
          line.words.size() > 2
              ? absl::StrCat("key ", id, " has unknown method '", line.words[1].text,
                             "'; Heartbeat's methods are crc, md5 and sha1")
              : absl::StrCat("key ", id, " has an unknown method (crc, md5 and sha1 are "
                             "Heartbeat's); if the word after ", id,
                             " is the secret, write '", id, " sha1 SECRET'"));
      continue;
    }
    if (std::string weak = WeakSecret(id, secret); !weak.empty()) {
      add(Severity::kWarning, line.line, std::move(weak));
    }
    seen[id] = line.line;
    *out.auth.add_keys() = std::move(key);
    out.key_lines.push_back(line.line);
  }
  if (out.auth_line == 0) {
    add(Severity::kError, 0,
        "no 'auth N' line naming the key heartbeats are sent with; add one, e.g. "
        "'auth 1' above the key lines");
  } else if (active != 0) {
    if (seen.count(active) == 0) {
      std::vector<std::string> ids;
      for (const auto& [k, unused] : seen) ids.push_back(absl::StrCat(k));
      add(Severity::kError, out.auth_line,
          absl::StrCat("auth ", active, " names key ", active, ", but no line '", active,
                       " METHOD KEY' follows; add that key line",
                       ids.empty() ? std::string()
                                   : absl::StrCat(" or use one of the listed keys (",
                                                  absl::StrJoin(ids, ", "), ")")));
    } else {
      out.auth.set_active_key(active);
    }
  }
  return out;
}

}  // namespace hacluster::migrate
