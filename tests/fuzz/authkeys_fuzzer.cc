// libFuzzer target: authkeys text through its parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "migrate/authkeys_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  hacluster::migrate::AuthkeysParse parse = hacluster::migrate::ParseAuthkeys(text, "authkeys");
  // Every key line the parser kept has a line number.
  if (parse.key_lines.size() != static_cast<size_t>(parse.auth.keys_size())) __builtin_trap();
  return 0;
}
