#include "agent/config/yaml_codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/duration.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace hacluster::config {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kHeader[] = "# Cluster spec (hacluster.spec.v1), canonical form.\n";

bool IsDuration(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Duration";
}

// "AuthMethod" -> "AUTH_METHOD_": the prefix every value name of the enum
// starts with, by the proto style guide.
std::string EnumPrefix(const EnumDescriptor* e) {
  std::string out;
  for (char c : e->name()) {
    if (absl::ascii_isupper(c) && !out.empty()) out.push_back('_');
    out.push_back(absl::ascii_toupper(c));
  }
  out.push_back('_');
  return out;
}

// AUTH_METHOD_SHA256 -> "sha256".
std::string EnumShortName(const EnumValueDescriptor* v) {
  absl::string_view name = v->name();
  absl::ConsumePrefix(&name, EnumPrefix(v->type()));
  return absl::AsciiStrToLower(name);
}

// The values YAML may name: all but the zero (*_UNSPECIFIED) value.
std::vector<const EnumValueDescriptor*> YamlEnumValues(const EnumDescriptor* e) {
  std::vector<const EnumValueDescriptor*> out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() != 0) out.push_back(e->value(i));
  }
  return out;
}

std::string EnumChoices(const EnumDescriptor* e) {
  std::vector<std::string> names;
  for (const EnumValueDescriptor* v : YamlEnumValues(e)) names.push_back(EnumShortName(v));
  return absl::StrJoin(names, ", ");
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return absl::StrCat("'", s, "'");
    }
    default:
      return "nothing";
  }
}

// What a single (non-repeated) value of `f` must look like.
std::string Expected(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "a whole number";
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return "a number";
    case FieldDescriptor::CPPTYPE_ENUM:
      return absl::StrCat("one of ", EnumChoices(f->enum_type()));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return IsDuration(f) ? "a duration such as 500ms or 2s" : "a map";
  }
  return "a value";
}

std::string Join(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

std::optional<bool> ParseBool(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  return std::nullopt;
}

// Parses a decimal integer of type T; on failure sets *error.
template <typename T>
std::optional<T> ParseInteger(absl::string_view text, std::string* error) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  T value;
  if (absl::SimpleAtoi(t, &value) && !(std::is_unsigned<T>::value && absl::StartsWith(t, "-"))) {
    return value;
  }
  absl::string_view digits = t;
  bool negative = absl::ConsumePrefix(&digits, "-");
  if (!negative) absl::ConsumePrefix(&digits, "+");
  bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                   [](char c) { return absl::ascii_isdigit(c); });
  if (!all_digits) {
    *error = absl::StrCat("expected a whole number, got '", text, "'");
  } else if (negative && std::is_unsigned<T>::value) {
    *error = absl::StrCat("'", text, "' is negative; it must be 0 or more");
  } else {
    *error = absl::StrCat("'", text, "' is out of range (",
                          std::numeric_limits<T>::min(), " to ",
                          std::numeric_limits<T>::max(), ")");
  }
  return std::nullopt;
}

// Reads a YAML document into messages by reflection, recording locations
// and diagnostics into a ParsedSpec it does not own.
class Decoder {
 public:
  Decoder(const std::string& file, ParsedSpec* out) : file_(file), out_(out) {}

  // Returns whether the document was a map (whose fields were then read).
  bool Document(const YAML::Node& root) {
    if (!root.IsMap()) {
      Error(root.Mark(), absl::StrCat("expected a map of spec fields (cluster_name, nodes, ...) "
                                      "at the top level, got ",
                                      Describe(root)));
      return false;
    }
    DecodeMessage(root, "", &out_->spec);
    return true;
  }

  void Error(const YAML::Mark& mark, std::string message) {
    out_->diagnostics.push_back({Severity::kError, Loc(mark), std::move(message)});
  }

  bool has_suggestions_left() const { return suggestions_.has_searches_left(); }

  // The "did you mean" suggestion for an unknown `word` while the file's
  // budget lasts (a note, once, when it runs out).
  std::string Suggest(const YAML::Mark& mark, absl::string_view word,
                      const std::vector<std::string>& candidates) {
    std::string close = suggestions_.Closest(word, candidates);
    if (std::string notice = suggestions_.RanOutNotice(); !notice.empty()) {
      out_->diagnostics.push_back({Severity::kWarning, Loc(mark), std::move(notice)});
    }
    return close;
  }

 private:
  Location Loc(const YAML::Mark& m) const {
    if (m.is_null()) return Location{file_, 0, 0};
    return Location{file_, m.line + 1, m.column + 1};
  }
  void Record(const std::string& path, const YAML::Mark& mark) {
    if (!mark.is_null()) out_->source_map.Set(path, Loc(mark));
  }
  void TypeError(const YAML::Mark& mark, const std::string& path, const std::string& expected,
                 const YAML::Node& got) {
    Error(mark, absl::StrCat(path, ": expected ", expected, ", got ", Describe(got)));
  }
  // Where a value is: its own mark, or its key's when it has none (null).
  static YAML::Mark MarkOf(const YAML::Node& value, const YAML::Node& key) {
    return value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
  }

  void DecodeMessage(const YAML::Node& map, const std::string& path, Message* msg);
  void DecodeField(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                   const FieldDescriptor* f, Message* msg);
  void DecodeMap(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                 const FieldDescriptor* f, Message* msg);
  // Decodes one value of `f` (a single field, or one element when `add`).
  bool DecodeValue(const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
                   const FieldDescriptor* f, Message* msg, bool add);
  bool DecodeScalar(const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
                    const FieldDescriptor* f, Message* msg, bool add);

  const std::string& file_;
  ParsedSpec* out_;
  SuggestionBudget suggestions_;
};

void Decoder::DecodeMessage(const YAML::Node& map, const std::string& path, Message* msg) {
  const Descriptor* d = msg->GetDescriptor();
  std::map<std::string, YAML::Mark> seen;
  std::map<int, std::string> oneof_member;  // oneof index -> key that set it
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: yaml-cpp's iterators hand out temporaries.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      TypeError(key.Mark(), path.empty() ? "top level" : path, "a key name", key);
      continue;
    }
    const std::string& name = key.Scalar();
    auto [first, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      Error(key.Mark(), absl::StrCat("duplicate key '", Join(path, name), "' (first set at line ",
                                     first->second.line + 1, ")"));
      continue;
    }
    const FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) {
      std::vector<std::string> names;
      if (has_suggestions_left()) {
        for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
      }
      std::string message = absl::StrCat("unknown key '", Join(path, name), "'");
      std::string close = Suggest(key.Mark(), name, names);
      if (!close.empty()) absl::StrAppend(&message, "; did you mean '", close, "'?");
      Error(key.Mark(), std::move(message));
      continue;
    }
    if (const auto* oneof = f->real_containing_oneof()) {
      auto [other, fresh] = oneof_member.emplace(oneof->index(), name);
      if (!fresh) {
        Error(key.Mark(), absl::StrCat(path.empty() ? "top level" : path, ": both '",
                                       other->second, "' and '", name,
                                       "' are set, but only one of them may be (they are "
                                       "alternative kinds of '",
                                       oneof->name(), "')"));
        continue;
      }
    }
    DecodeField(key, value, Join(path, name), f, msg);
  }
}

void Decoder::DecodeField(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                          const FieldDescriptor* f, Message* msg) {
  if (f->is_map()) {
    DecodeMap(key, value, path, f, msg);
    return;
  }
  if (!f->is_repeated()) {
    // A nested message is located at its key; a scalar at its value.
    bool nested = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsDuration(f);
    DecodeValue(value, nested ? key.Mark() : MarkOf(value, key), path, f, msg, /*add=*/false);
    return;
  }
  Record(path, key.Mark());
  if (value.IsNull()) return;
  if (!value.IsSequence()) {
    TypeError(MarkOf(value, key), path, absl::StrCat("a sequence of ", Expected(f)), value);
    return;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const YAML::Node element = value[i];
    // The path names the element's index in the spec, which differs from its
    // place in the YAML once an earlier element failed and was left out.
    int index = msg->GetReflection()->FieldSize(*msg, f);
    std::string element_path = absl::StrCat(path, "[", index, "]");
    DecodeValue(element, MarkOf(element, value), element_path, f, msg, /*add=*/true);
  }
}

void Decoder::DecodeMap(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                        const FieldDescriptor* f, Message* msg) {
  Record(path, key.Mark());
  if (value.IsNull()) return;
  if (!value.IsMap()) {
    TypeError(MarkOf(value, key), path, "a map", value);
    return;
  }
  const FieldDescriptor* key_field = f->message_type()->map_key();
  const FieldDescriptor* value_field = f->message_type()->map_value();
  const Reflection* r = msg->GetReflection();
  std::map<std::string, YAML::Mark> seen;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const YAML::Node k = it->first;  // copies, as above
    const YAML::Node v = it->second;
    std::string entry_path = Join(path, k.IsScalar() ? k.Scalar() : "?");
    if (!k.IsScalar()) {
      TypeError(k.Mark(), path, "a key name", k);
      continue;
    }
    auto [first, inserted] = seen.emplace(k.Scalar(), k.Mark());
    if (!inserted) {
      Error(k.Mark(), absl::StrCat("duplicate key '", entry_path, "' (first set at line ",
                                   first->second.line + 1, ")"));
      continue;
    }
    Message* entry = r->AddMessage(msg, f);
    if (!DecodeScalar(k, k.Mark(), entry_path, key_field, entry, /*add=*/false) ||
        !DecodeValue(v, MarkOf(v, k), entry_path, value_field, entry, /*add=*/false)) {
      r->RemoveLast(msg, f);
      continue;
    }
    Record(entry_path, k.Mark());
  }
}

bool Decoder::DecodeValue(const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
                          const FieldDescriptor* f, Message* msg, bool add) {
  const Reflection* r = msg->GetReflection();
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || IsDuration(f)) {
    return DecodeScalar(value, mark, path, f, msg, add);
  }
  if (!value.IsNull() && !value.IsMap()) {
    TypeError(value.Mark().is_null() ? mark : value.Mark(), path, "a map", value);
    return false;
  }
  Record(path, mark);
  Message* child = add ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
  if (value.IsMap()) DecodeMessage(value, path, child);
  return true;
}

bool Decoder::DecodeScalar(const YAML::Node& value, const YAML::Mark& mark,
                           const std::string& path, const FieldDescriptor* f, Message* msg,
                           bool add) {
  if (!value.IsScalar()) {
    TypeError(mark, path, Expected(f), value);
    return false;
  }
  const Reflection* r = msg->GetReflection();
  const std::string& text = value.Scalar();
  std::string error;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (!IsValidUtf8(text)) {
        error = "the text is not valid UTF-8";
        break;
      }
      add ? r->AddString(msg, f, text) : r->SetString(msg, f, text);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      if (auto b = ParseBool(text)) {
        add ? r->AddBool(msg, f, *b) : r->SetBool(msg, f, *b);
      } else {
        error = absl::StrCat("expected true or false, got '", text, "'");
      }
      break;
#define HACLUSTER_INTEGER_CASE(CPPTYPE, T, Name)                                   \
  case FieldDescriptor::CPPTYPE:                                                   \
    if (auto n = ParseInteger<T>(text, &error)) {                                  \
      add ? r->Add##Name(msg, f, *n) : r->Set##Name(msg, f, *n);                   \
    }                                                                              \
    break;
      HACLUSTER_INTEGER_CASE(CPPTYPE_INT32, int32_t, Int32)
      HACLUSTER_INTEGER_CASE(CPPTYPE_INT64, int64_t, Int64)
      HACLUSTER_INTEGER_CASE(CPPTYPE_UINT32, uint32_t, UInt32)
      HACLUSTER_INTEGER_CASE(CPPTYPE_UINT64, uint64_t, UInt64)
#undef HACLUSTER_INTEGER_CASE
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d;
      if (!absl::SimpleAtod(text, &d)) {
        error = absl::StrCat("expected a number, got '", text, "'");
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        add ? r->AddFloat(msg, f, static_cast<float>(d)) : r->SetFloat(msg, f, static_cast<float>(d));
      } else {
        add ? r->AddDouble(msg, f, d) : r->SetDouble(msg, f, d);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* match = nullptr;
      std::vector<std::string> names;
      for (const EnumValueDescriptor* v : YamlEnumValues(f->enum_type())) {
        names.push_back(EnumShortName(v));
        if (absl::EqualsIgnoreCase(names.back(), text)) match = v;
      }
      if (match != nullptr) {
        add ? r->AddEnumValue(msg, f, match->number()) : r->SetEnumValue(msg, f, match->number());
        break;
      }
      error = absl::StrCat("'", text, "' is not one of ", absl::StrJoin(names, ", "));
      std::string close = Suggest(mark, text, names);
      if (!close.empty()) absl::StrAppend(&error, "; did you mean '", close, "'?");
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {  // google.protobuf.Duration
      absl::StatusOr<int64_t> ms = ParseDurationMs(text);
      if (!ms.ok()) {
        error = std::string(ms.status().message());
        break;
      }
      Message* d = add ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      d->CopyFrom(FromMs(*ms));
      break;
    }
  }
  if (!error.empty()) {
    Error(mark, absl::StrCat(path, ": ", error));
    return false;
  }
  Record(path, mark);
  return true;
}

// ---- Writing ----

// Whether a YAML 1.1 or 1.2 reader could resolve `lower` (a lower-cased
// plain scalar) as a number: ints and floats in any base, with '_'
// separators, sexagesimal "1:20", .inf and .nan. Errs towards yes.
bool LooksLikeNumber(absl::string_view lower) {
  absl::string_view t = lower;
  if (!absl::ConsumePrefix(&t, "-")) absl::ConsumePrefix(&t, "+");
  if (t == ".inf" || t == ".nan") return true;
  if (absl::StartsWith(t, "0x") || absl::StartsWith(t, "0o") || absl::StartsWith(t, "0b")) {
    return std::all_of(t.begin() + 2, t.end(), [](char c) { return absl::ascii_isxdigit(c) || c == '_'; });
  }
  bool digit = false;
  int dots = 0;
  for (char c : t) {
    if (absl::ascii_isdigit(c)) {
      digit = true;
    } else if (c == '.') {
      ++dots;
    } else if (absl::string_view("_e+-:").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return digit && dots <= 1;
}

// Whether `s` must be double-quoted to be read back as this same string, by
// us and by any YAML 1.1 or 1.2 reader (no bool, null or number look-alikes).
bool NeedsQuotes(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  static const char* const kSpecial[] = {"y",   "n",  "yes", "no",   "true",
                                         "false", "on", "off", "null", "~"};
  std::string lower = absl::AsciiStrToLower(s);
  for (const char* w : kSpecial) {
    if (lower == w) return true;
  }
  return LooksLikeNumber(lower);
}

void EmitString(YAML::Emitter& out, const std::string& s) {
  if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
  out << s;
}

void EmitMessage(YAML::Emitter& out, const Message& msg);

// Text of one scalar value of `f` (index -1: the singular field).
std::string ScalarText(const Message& msg, const FieldDescriptor* f, int index) {
  const Reflection* r = msg.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(msg, f, index) : r->GetString(msg, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d = f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT
                     ? (rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f))
                     : (rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f));
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v =
          rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f);
      return EnumShortName(v);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {  // google.protobuf.Duration
      const Message& m = rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f);
      google::protobuf::Duration d;
      d.CopyFrom(m);
      return FormatDurationMs(ToMs(d));
    }
  }
  return "";
}

void EmitValue(YAML::Emitter& out, const Message& msg, const FieldDescriptor* f, int index) {
  const Reflection* r = msg.GetReflection();
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsDuration(f)) {
    EmitMessage(out, index >= 0 ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f));
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    EmitString(out, ScalarText(msg, f, index));
  } else {
    out << ScalarText(msg, f, index);
  }
}

void EmitMap(YAML::Emitter& out, const Message& msg, const FieldDescriptor* f) {
  const Reflection* r = msg.GetReflection();
  const FieldDescriptor* key_field = f->message_type()->map_key();
  const FieldDescriptor* value_field = f->message_type()->map_value();
  std::vector<std::pair<std::string, const Message*>> entries;
  for (int i = 0; i < r->FieldSize(msg, f); ++i) {
    const Message& entry = r->GetRepeatedMessage(msg, f, i);
    entries.emplace_back(ScalarText(entry, key_field, -1), &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out << YAML::BeginMap;
  for (const auto& [key, entry] : entries) {
    out << YAML::Key;
    EmitString(out, key);
    out << YAML::Value;
    EmitValue(out, *entry, value_field, -1);
  }
  out << YAML::EndMap;
}

void EmitMessage(YAML::Emitter& out, const Message& msg) {
  const Reflection* r = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(msg, &fields);  // set fields, by field number
  if (fields.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  out << YAML::BeginMap;
  for (const FieldDescriptor* f : fields) {
    out << YAML::Key << f->name() << YAML::Value;
    if (f->is_map()) {
      EmitMap(out, msg, f);
    } else if (f->is_repeated()) {
      out << YAML::BeginSeq;
      for (int i = 0; i < r->FieldSize(msg, f); ++i) EmitValue(out, msg, f, i);
      out << YAML::EndSeq;
    } else {
      EmitValue(out, msg, f, -1);
    }
  }
  out << YAML::EndMap;
}


// Reads a spec file into *text; returns what is wrong, or "" on success.
// Non-blocking open and a type check first, so a FIFO or device cannot hang
// or flood the reader.
std::string ReadSpecFile(const std::string& path, std::string* text) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return absl::StrCat("cannot read spec file ", path, ": ", std::strerror(errno));
  struct stat st;
  std::string problem;
  if (fstat(fd, &st) != 0) {
    problem = absl::StrCat("cannot read spec file ", path, ": ", std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    problem = absl::StrCat(path, " is not a regular file");
  } else if (static_cast<size_t>(st.st_size) > kMaxSpecBytes) {
    problem = absl::StrCat(path, " is larger than 4 MiB; that is not a cluster spec");
  }
  char buf[65536];
  while (problem.empty()) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = absl::StrCat("cannot read spec file ", path, ": ", std::strerror(errno));
    if (n <= 0) break;
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > kMaxSpecBytes) {
      problem = absl::StrCat(path, " is larger than 4 MiB; that is not a cluster spec");
    }
  }
  close(fd);
  return problem;
}

// More unknown keys than this and a file is not a spec: reading stops.
constexpr int kMaxUnknownKeys = 100;

// Thrown by FirstPass to stop yaml-cpp's parser early.
struct TooManyUnknownKeys {};
struct TooManyValues {
  YAML::Mark mark;
};

// The first pass over a stream's events, before yaml-cpp builds its node
// tree: records where the first two documents start and the first alias (a
// spec may not use anchors and aliases, which let a few bytes stand for
// billions of nodes, "billion laughs"), and follows the spec's schema to
// find keys that name no field. After kMaxUnknownKeys of them it throws
// TooManyUnknownKeys: building the tree of a 4 MiB file of junk keys would
// take yaml-cpp seconds, and every key would be an error anyway. Past
// kMaxSpecValues values it throws TooManyValues, for the same reason.
class FirstPass : public YAML::EventHandler {
 public:
  struct UnknownKey {
    YAML::Mark mark;
    std::string path;  // "nodes[0].nmae": elements numbered as in the YAML
    std::string name;
    const Descriptor* message;  // where it was looked up
  };

  YAML::Mark marks[2];
  bool has_alias = false;
  YAML::Mark alias;
  std::vector<UnknownKey> unknown;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (count_ < 2) marks[count_] = mark;
    ++count_;
    stack_.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Count(mark);
    Scalar(nullptr, "");
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Count(mark);
    if (!has_alias) alias = mark;
    has_alias = true;
    Scalar(nullptr, "");
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Count(mark);
    Scalar(&mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count(mark);
    Start(/*is_map=*/false);
  }
  void OnSequenceEnd() override { End(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count(mark);
    Start(/*is_map=*/true);
  }
  void OnMapEnd() override { End(); }

 private:
  // An open map or sequence. `message`: the message whose fields a map's
  // keys name, or the message type of a sequence's elements; null where
  // anything goes (map<string, string> fields, values of unknown keys).
  struct Frame {
    bool is_map;
    const Descriptor* message;
    std::string path;
    bool key_next = true;                     // maps: the next child is a key
    const Descriptor* value_message = nullptr;  // maps: for the current key's value
    std::string value_path;                   // maps: the current key's path
    int index = 0;                            // sequences: the next element's index
  };

  // What the node starting now is checked against, and its path.
  std::pair<const Descriptor*, std::string> Child() {
    if (stack_.empty()) return {spec::v1::ClusterSpec::descriptor(), ""};
    Frame& parent = stack_.back();
    if (!parent.is_map) {
      return {parent.message, absl::StrCat(parent.path, "[", parent.index, "]")};
    }
    if (parent.key_next) return {nullptr, parent.path};  // a map or list as a key
    return {parent.value_message, parent.value_path};
  }

  // A child of the innermost map or sequence is complete.
  void Completed() {
    if (stack_.empty()) return;
    Frame& parent = stack_.back();
    if (parent.is_map) {
      parent.key_next = !parent.key_next;
    } else {
      ++parent.index;
    }
  }

  void Start(bool is_map) {
    auto [message, path] = Child();
    stack_.push_back(Frame{is_map, message, std::move(path)});
  }

  void End() {
    if (!stack_.empty()) stack_.pop_back();
    Completed();
  }

  void Scalar(const YAML::Mark* mark, const std::string& value) {
    if (!stack_.empty() && stack_.back().is_map && stack_.back().key_next) Key(mark, value);
    Completed();
  }

  void Key(const YAML::Mark* mark, const std::string& name) {
    Frame& map = stack_.back();
    map.value_message = nullptr;
    map.value_path = Join(map.path, name);
    if (map.message == nullptr || mark == nullptr) return;
    const FieldDescriptor* f = map.message->FindFieldByName(name);
    if (f == nullptr) {
      unknown.push_back({*mark, map.value_path, name, map.message});
      if (static_cast<int>(unknown.size()) > kMaxUnknownKeys) throw TooManyUnknownKeys();
      return;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map() && !IsDuration(f)) {
      map.value_message = f->message_type();
    }
  }

  void Count(const YAML::Mark& mark) {
    if (++values_ > kMaxSpecValues) throw TooManyValues{mark};
  }

  int count_ = 0;
  size_t values_ = 0;
  std::vector<Frame> stack_;
};

// YAML forbids tabs in indentation, and yaml-cpp's message for one ("illegal
// map value", "end of map not found") does not say so.
std::string TabHint(absl::string_view text, const YAML::Mark& mark) {
  if (mark.line < 0) return "";
  size_t pos = 0;
  for (int l = 0; l < mark.line && pos != absl::string_view::npos; ++l) {
    pos = text.find('\n', pos);
    if (pos != absl::string_view::npos) ++pos;
  }
  for (int l = 0; l < 2 && pos != absl::string_view::npos && pos < text.size(); ++l) {
    absl::string_view line = text.substr(pos, text.find('\n', pos) - pos);
    size_t indent = line.find_first_not_of(" \t");
    if (line.substr(0, indent).find('\t') != absl::string_view::npos) {
      return " (a tab in the indentation: YAML indents with spaces only)";
    }
    pos = text.find('\n', pos);
    if (pos != absl::string_view::npos) ++pos;
  }
  return "";
}

// Parses into *out; returns whether the text was one YAML map, so that the
// spec holds what could be read of it and is worth validating.
bool Parse(absl::string_view text, const std::string& filename, ParsedSpec* out_ptr) {
  ParsedSpec& out = *out_ptr;
  out.source_map.set_file(filename);
  Decoder decoder(filename, &out);
  try {
    // yaml-cpp's LoadAll never returns on some malformed input (a lone ','
    // yields endless empty documents), so documents are counted first with
    // a bounded loop, then the single one is loaded.
    std::string owned(text);
    std::istringstream stream(owned);
    YAML::Parser parser(stream);
    FirstPass starts;
    int docs = 0;
    try {
      while (docs < 2 && parser.HandleNextDocument(starts)) ++docs;
    } catch (const TooManyUnknownKeys&) {
      // Each unknown key as the decoder would say it, then why reading stopped.
      for (const FirstPass::UnknownKey& k : starts.unknown) {
        std::vector<std::string> names;
        if (decoder.has_suggestions_left()) {
          for (int i = 0; i < k.message->field_count(); ++i) {
            names.push_back(k.message->field(i)->name());
          }
        }
        std::string message = absl::StrCat("unknown key '", k.path, "'");
        std::string close = decoder.Suggest(k.mark, k.name, names);
        if (!close.empty()) absl::StrAppend(&message, "; did you mean '", close, "'?");
        decoder.Error(k.mark, std::move(message));
      }
      decoder.Error(starts.unknown.back().mark,
                    absl::StrCat("more than ", kMaxUnknownKeys,
                                 " unknown keys: this is not a cluster spec; reading stopped "
                                 "here"));
      return false;
    } catch (const TooManyValues& e) {
      decoder.Error(e.mark, absl::StrCat("more than ", kMaxSpecValues,
                                         " values (keys, values, lists and maps): this is not a "
                                         "cluster spec; reading stopped here"));
      return false;
    }
    if (docs == 0) {
      out.diagnostics.push_back(
          {Severity::kError, Location{filename, 0, 0},
           "the spec is empty: expected a map of spec fields (cluster_name, nodes, ...)"});
    } else if (docs == 2 && starts.marks[1].pos == starts.marks[0].pos) {
      decoder.Error(starts.marks[1], "invalid YAML: unexpected character");
    } else if (docs == 2) {
      decoder.Error(starts.marks[1],
                    "a second YAML document; a spec file holds exactly one document");
    } else if (starts.has_alias) {
      decoder.Error(starts.alias,
                    "YAML aliases (*name) are not allowed in a spec: write the value out "
                    "where it is used");
    } else {
      return decoder.Document(YAML::Load(owned));
    }
  } catch (const YAML::DeepRecursion& e) {
    decoder.Error(e.mark, "invalid YAML: nested too deeply");
  } catch (const YAML::Exception& e) {
    decoder.Error(e.mark, absl::StrCat("invalid YAML: ", e.msg, TabHint(text, e.mark)));
  } catch (const std::exception& e) {
    decoder.Error(YAML::Mark::null_mark(), absl::StrCat("cannot read the spec: ", e.what()));
  }
  return false;
}

}  // namespace

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

ParsedSpec ParseSpecYaml(absl::string_view text, const std::string& filename) {
  ParsedSpec out;
  Parse(text, filename, &out);
  return out;
}

std::string SpecToYaml(const spec::v1::ClusterSpec& spec) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitMessage(out, spec);
  return absl::StrCat(kHeader, out.c_str(), "\n");
}

ParsedSpec LoadSpecFile(const std::string& path, const ValidateOptions& options) {
  std::string text;
  std::string problem = ReadSpecFile(path, &text);
  if (!problem.empty()) {
    ParsedSpec out;
    out.source_map.set_file(path);
    out.diagnostics.push_back({Severity::kError, Location{path, 0, 0}, problem});
    return out;
  }
  ValidateOptions effective = options;
  if (effective.base_dir.empty()) effective.base_dir = DirName(path);
  return LoadSpecText(text, path, effective);
}

ParsedSpec LoadSpecText(absl::string_view text, const std::string& filename,
                        const ValidateOptions& options) {
  ParsedSpec parsed;
  // Validating what could not be read as a map would only add noise.
  if (!Parse(std::string(text), filename, &parsed)) return parsed;
  std::vector<Diagnostic> more = ValidateSpec(parsed.spec, parsed.source_map, options);
  parsed.diagnostics.insert(parsed.diagnostics.end(), more.begin(), more.end());
  return parsed;
}

}  // namespace hacluster::config
