#include "agent/hb3wire/ha_msg.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hacluster::hb3wire {
namespace {

constexpr absl::string_view kStart = "###\n";
constexpr absl::string_view kEnd = "%%%\n";
// Netstring lengths are at most this many digits (kMaxMessageSize has 6).
constexpr size_t kMaxLengthDigits = 7;

absl::Status Bad(size_t at, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("byte ", at, ": ", what));
}

// Reads the netstring at `data[*pos]`: "<len>:<bytes>,". On success sets
// *contents and advances *pos past the ','.
absl::Status PeelNetstring(absl::string_view data, size_t* pos, absl::string_view* contents) {
  const size_t start = *pos;
  size_t i = start;
  size_t len = 0;
  while (i < data.size() && absl::ascii_isdigit(static_cast<unsigned char>(data[i]))) {
    if (i - start >= kMaxLengthDigits) return Bad(start, "netstring length too long");
    len = len * 10 + static_cast<size_t>(data[i] - '0');
    ++i;
  }
  if (i == start) return Bad(start, "expected a netstring length");
  if (i - start > 1 && data[start] == '0') return Bad(start, "netstring length with a leading zero");
  if (i >= data.size() || data[i] != ':') return Bad(i, "expected ':' after the netstring length");
  ++i;
  if (len > data.size() - i) return Bad(start, "netstring longer than the datagram");
  *contents = data.substr(i, len);
  i += len;
  if (i >= data.size() || data[i] != ',') return Bad(i, "netstring not closed by ','");
  *pos = i + 1;
  return absl::OkStatus();
}

// Parses "(T)name=value" into a field.
absl::Status ParseField(absl::string_view nv, size_t at, int depth, HaField* f) {
  if (nv.size() < 5 || nv[0] != '(' || nv[2] != ')') {
    return Bad(at, "field does not start with its type \"(T)\"");
  }
  const char t = nv[1];
  if (t < '0' || t > '5') return Bad(at, absl::StrCat("unknown field type '", absl::CHexEscape(nv.substr(1, 1)), "'"));
  f->type = static_cast<FieldType>(t - '0');
  absl::string_view rest = nv.substr(3);
  const size_t eq = rest.find('=');
  if (eq == absl::string_view::npos || eq == 0) return Bad(at, "field without a name and '='");
  f->name.assign(rest.data(), eq);
  f->value.assign(rest.data() + eq + 1, rest.size() - eq - 1);
  if (f->type == FieldType::kString && f->value.find('\0') != std::string::npos) {
    return Bad(at, "string field with a NUL byte");
  }
  if (f->type == FieldType::kStruct || f->type == FieldType::kUncompress) {
    if (depth + 1 > kMaxDepth) return Bad(at, "nested messages too deep");
    HaMessage nested;
    absl::Status s = ParseNested(f->value, depth + 1, &nested);
    if (!s.ok()) return Bad(at, absl::StrCat("nested message: ", s.message()));
  }
  return absl::OkStatus();
}

// Parses fields from `data[*pos]` up to and including the end marker.
absl::Status ParseBody(absl::string_view data, size_t* pos, int depth, HaMessage* out) {
  if (data.substr(*pos, kStart.size()) != kStart) return Bad(*pos, "no start marker \"###\"");
  *pos += kStart.size();
  size_t n = 0;
  while (true) {
    if (*pos >= data.size()) return Bad(*pos, "no end marker \"%%%\"");
    if (data.substr(*pos, kEnd.size()) == kEnd) {
      *pos += kEnd.size();
      return absl::OkStatus();
    }
    if (++n > kMaxFields) return Bad(*pos, "more fields than Heartbeat allows");
    const size_t at = *pos;
    absl::string_view nv;
    absl::Status s = PeelNetstring(data, pos, &nv);
    if (!s.ok()) return s;
    HaField f;
    s = ParseField(nv, at, depth, &f);
    if (!s.ok()) return s;
    out->AddTyped(f.type, f.name, f.value);
  }
}

void AppendEscaped(absl::string_view s, std::string* out) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out->push_back(c);
    } else {
      absl::StrAppend(out, "\\x", absl::Hex(u, absl::kZeroPad2));
    }
  }
}

}  // namespace

void HaMessage::Add(absl::string_view name, absl::string_view value) {
  AddTyped(FieldType::kString, name, value);
}

void HaMessage::AddTyped(FieldType type, absl::string_view name, absl::string_view value) {
  fields_.push_back(HaField{type, std::string(name), std::string(value)});
}

void HaMessage::Set(absl::string_view name, absl::string_view value) {
  for (HaField& f : fields_) {
    if (f.name == name) {
      f.type = FieldType::kString;
      f.value.assign(value.data(), value.size());
      return;
    }
  }
  Add(name, value);
}

std::optional<absl::string_view> HaMessage::Get(absl::string_view name) const {
  for (const HaField& f : fields_) {
    if (f.type == FieldType::kString && f.name == name) return absl::string_view(f.value);
  }
  return std::nullopt;
}

absl::string_view HaMessage::GetOr(absl::string_view name) const {
  std::optional<absl::string_view> v = Get(name);
  return v.has_value() ? *v : absl::string_view();
}

std::string HaMessage::Serialize() const {
  std::string out(kStart);
  for (const HaField& f : fields_) {
    const size_t len = 3 + f.name.size() + 1 + f.value.size();
    absl::StrAppend(&out, len, ":(", static_cast<int>(f.type), ")", f.name, "=", f.value, ",");
  }
  out.append(kEnd.data(), kEnd.size());
  return out;
}

std::string HaMessage::DebugString() const {
  std::string out;
  for (const HaField& f : fields_) {
    if (!out.empty()) out.push_back(' ');
    AppendEscaped(f.name, &out);
    out.push_back('=');
    if (f.type == FieldType::kString) {
      AppendEscaped(f.value, &out);
    } else {
      absl::StrAppend(&out, "<", f.value.size(), " bytes>");
    }
  }
  return out;
}

absl::Status ParseNested(absl::string_view wire, int depth, HaMessage* out) {
  size_t pos = 0;
  absl::Status s = ParseBody(wire, &pos, depth, out);
  if (!s.ok()) return s;
  if (pos != wire.size()) return Bad(pos, "bytes after the nested message");
  return absl::OkStatus();
}

absl::StatusOr<ParsedFrame> ParseFrame(absl::string_view datagram) {
  if (datagram.size() > kMaxMessageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("datagram of ", datagram.size(), " bytes exceeds ", kMaxMessageSize));
  }
  ParsedFrame frame;
  size_t pos = 0;
  absl::Status s = ParseBody(datagram, &pos, 0, &frame.message);
  if (!s.ok()) return s;
  frame.signed_part = datagram.substr(0, pos);
  if (pos == datagram.size()) return frame;
  // Heartbeat's C strings may carry one trailing NUL.
  absl::string_view auth;
  const size_t at = pos;
  s = PeelNetstring(datagram, &pos, &auth);
  if (!s.ok()) return s;
  if (pos < datagram.size() && !(pos + 1 == datagram.size() && datagram[pos] == '\0')) {
    return Bad(pos, "bytes after the auth netstring");
  }
  const size_t space = auth.find(' ');
  if (space == absl::string_view::npos || space == 0 || space > 3) {
    return Bad(at, "auth netstring is not \"<index> <token>\"");
  }
  uint32_t index = 0;
  for (char c : auth.substr(0, space)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return Bad(at, "auth index is not a number");
    index = index * 10 + static_cast<uint32_t>(c - '0');
  }
  frame.auth_index = index;
  frame.auth_token.assign(auth.data() + space + 1, auth.size() - space - 1);
  return frame;
}

}  // namespace hacluster::hb3wire
